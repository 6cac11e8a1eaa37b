using Microsoft.IdentityModel.Tokens;

namespace Tessera.Core.Identity;

/// <summary>
/// Keys fetched from a <c>jwks_uri</c> and cached. A token with an unknown <c>kid</c> triggers a
/// refresh, at most once a minute, so a stream of bogus kids cannot turn Tessera into a load
/// generator against the identity provider. A failed fetch keeps the keys already known.
/// </summary>
public sealed class RemoteJwks(Uri uri, HttpClient http, TimeProvider time) : IJwksSource, IDisposable
{
    internal static readonly TimeSpan MinRefreshInterval = TimeSpan.FromMinutes(1);
    private const int MaxDocumentBytes = 1024 * 1024;

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private IList<SecurityKey> _keys = [];
    private DateTimeOffset? _lastFetch;

    /// <summary>How many fetches were attempted (for tests and metrics).</summary>
    public int FetchCount { get; private set; }

    public async ValueTask<IList<SecurityKey>> GetKeysAsync(string? kid, CancellationToken cancellationToken)
    {
        var keys = Volatile.Read(ref _keys);
        if (_lastFetch is not null && (kid is null || keys.Any(k => k.KeyId == kid)))
        {
            return keys;
        }

        await _refresh.WaitAsync(cancellationToken);
        try
        {
            keys = _keys;
            var now = time.GetUtcNow();
            var known = kid is not null && keys.Any(k => k.KeyId == kid);
            if (!known && (_lastFetch is null || now - _lastFetch >= MinRefreshInterval))
            {
                _lastFetch = now;
                FetchCount++;
                var fetched = await FetchAsync(cancellationToken);
                if (fetched is not null)
                {
                    Volatile.Write(ref _keys, fetched);
                    keys = fetched;
                }
            }

            return keys;
        }
        finally
        {
            _refresh.Release();
        }
    }

    private async Task<IList<SecurityKey>?> FetchAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode || response.Content.Headers.ContentLength > MaxDocumentBytes)
            {
                return null;
            }

            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            if (body.Length > MaxDocumentBytes)
            {
                return null;
            }

            var keys = new JsonWebKeySet(body).GetSigningKeys();
            return keys.Count == 0 ? null : keys;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or ArgumentException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    public void Dispose() => _refresh.Dispose();
}
