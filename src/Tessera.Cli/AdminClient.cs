using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;

namespace Tessera.Cli;

/// <summary>
/// Reaches the admin API for client commands: <c>TESSERA_ADDR</c> and <c>TESSERA_TOKEN</c>, or else
/// the listen address and bootstrap token from the configuration's data directory.
/// </summary>
internal sealed class AdminClient : IDisposable
{
    private readonly HttpClient _http;

    private AdminClient(Uri address, string token)
    {
        _http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public static AdminClient Create(string configPath)
    {
        var addr = Environment.GetEnvironmentVariable("TESSERA_ADDR");
        var token = Environment.GetEnvironmentVariable("TESSERA_TOKEN");
        if (string.IsNullOrEmpty(addr) || string.IsNullOrEmpty(token))
        {
            if (!File.Exists(configPath))
            {
                throw new CliException($"Set TESSERA_ADDR and TESSERA_TOKEN, or run where {configPath} is (or pass --config).");
            }

            // The file only locates the server. One that no longer loads (an edit awaiting `tessera reload`)
            // still names it; the server, which runs the last valid file, judges the new one.
            Uri listen;
            string dataDir;
            try
            {
                var config = ConfigLoader.LoadFile(configPath);
                (listen, dataDir) = (config.Server.Listen, config.DataDir);
            }
            catch (ConfigException) when (ConfigLoader.ReadClientSettings(configPath) is { } settings)
            {
                (listen, dataDir) = settings;
            }

            addr ??= listen.ToString();
            if (string.IsNullOrEmpty(token))
            {
                var tokenPath = Path.Combine(dataDir, AdminAuthenticator.BootstrapTokenFileName);
                if (!File.Exists(tokenPath))
                {
                    throw new CliException($"No TESSERA_TOKEN and no bootstrap token at {tokenPath}.");
                }

                token = File.ReadAllText(tokenPath).Trim();
            }
        }

        if (!Uri.TryCreate(addr, UriKind.Absolute, out var uri))
        {
            throw new CliException($"TESSERA_ADDR '{addr}' is not a URL.");
        }

        return new AdminClient(uri, token);
    }

    public Task<JsonDocument> GetAsync(string path, CancellationToken cancellationToken) => SendAsync(new HttpRequestMessage(HttpMethod.Get, path), cancellationToken);

    public Task<JsonDocument> PostAsync(string path, object? body, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) }, cancellationToken);

    /// <summary>Sends a body the caller owns (and clears afterwards), for requests that carry a secret.</summary>
    public Task<JsonDocument> SendJsonAsync(HttpMethod method, string path, ReadOnlyMemory<byte> json, CancellationToken cancellationToken)
    {
        var content = new ReadOnlyMemoryContent(json);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return SendAsync(new HttpRequestMessage(method, path) { Content = content }, cancellationToken);
    }

    private async Task<JsonDocument> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new CliException($"Cannot reach Tessera at {_http.BaseAddress}: {ex.Message}");
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var detail = text;
                try
                {
                    using var problem = JsonDocument.Parse(text);
                    detail = problem.RootElement.TryGetProperty("detail", out var d) ? d.GetString() : problem.RootElement.TryGetProperty("title", out var t) ? t.GetString() : text;
                }
                catch (JsonException)
                {
                    // Not JSON: show it as it is.
                }

                throw new CliException($"Tessera refused ({(int)response.StatusCode}): {detail}", (int)response.StatusCode, detail);
            }

            return JsonDocument.Parse(text.Length == 0 ? "{}" : text);
        }
    }

    public void Dispose() => _http.Dispose();
}
