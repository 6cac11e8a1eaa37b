using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Tessera.Client.AspNetCore;

/// <summary>
/// Asks Tessera whether a token is still active (RFC 7662, <c>client_secret_basic</c> as the tool's own
/// client) and remembers the answer per token id (<c>jti</c>) for <see cref="TesseraTokenOptions.IntrospectionCacheDuration"/>,
/// never longer than the token lives. When Tessera cannot be asked, the answer is
/// <see cref="IntrospectionOutcome.Unavailable"/> and the token is refused (fail closed): a tool that
/// asked for revocation checks does not accept a token it could not check.
/// </summary>
internal sealed partial class TokenIntrospection(TesseraIntrospectionClient client, TimeSpan cacheDuration, Func<HttpClient> backchannel, TimeProvider time, ILogger logger)
{
    /// <summary>At most this many answers are remembered; beyond, the cache is emptied (a miss only costs a request).</summary>
    internal const int Capacity = 100_000;

    private readonly ConcurrentDictionary<string, (bool Active, long Until)> _answers = new(StringComparer.Ordinal);
    private readonly string _authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(
        $"{Uri.EscapeDataString(client.ClientId)}:{Uri.EscapeDataString(client.ClientSecret)}"));

    public async Task<IntrospectionOutcome> CheckAsync(string token, string jti, DateTimeOffset expires, Uri endpoint, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_answers.TryGetValue(jti, out var cached) && cached.Until > now.UtcTicks)
        {
            return cached.Active ? IntrospectionOutcome.Active : IntrospectionOutcome.Inactive;
        }

        bool active;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
            {
                Content = new FormUrlEncodedContent([new("token", token), new("token_type_hint", "access_token")]),
            };
            request.Headers.Authorization = AuthenticationHeaderValue.Parse(_authorization);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var response = await backchannel().SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                Log.Refused(logger, (int)response.StatusCode, jti);
                return IntrospectionOutcome.Unavailable;
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var json = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
            // Anything but a literal true is inactive.
            active = json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("active", out var value) && value.ValueKind == JsonValueKind.True;
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Log.Unreachable(logger, ex.GetType().Name, jti);
            return IntrospectionOutcome.Unavailable;
        }

        var until = now + cacheDuration;
        if (cacheDuration > TimeSpan.Zero)
        {
            if (_answers.Count >= Capacity)
            {
                _answers.Clear();
            }

            _answers[jti] = (active, (active && expires < until ? expires : until).UtcTicks);
        }

        return active ? IntrospectionOutcome.Active : IntrospectionOutcome.Inactive;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Tessera refused to introspect token {Jti} (HTTP {Status}): is the tool's client_id configured with this client?")]
        public static partial void Refused(ILogger logger, int status, string jti);

        [LoggerMessage(2, LogLevel.Warning, "Tessera's introspection endpoint could not be reached ({Error}); token {Jti} refused")]
        public static partial void Unreachable(ILogger logger, string error, string jti);
    }
}
