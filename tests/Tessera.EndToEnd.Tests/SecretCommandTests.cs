using System.Collections.Concurrent;

namespace Tessera.EndToEnd.Tests;

/// <summary>
/// <c>tessera secret put|rotate|list</c> and <c>tessera vault rekey</c> against the real process:
/// values go in on stdin with one trailing newline stripped, reach the upstream through the proxy,
/// and appear in no command's output, no audit line and no server log line.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Speed", "Slow")] // real processes; a developer's fast set leaves them out (README.md)
public sealed class SecretCommandTests : IDisposable
{
    private const string First = "crm-first-value-4b7e19a2c5";
    private const string Rotated = "crm-rotated-value-93d0f6e1b8";
    private const string Refused = "crm-refused-value-2a8c5e7f10";
    private const string AgentSecret = "e2e-agent-secret-6f1d0b3a9c27";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-e2e-" + Guid.NewGuid().ToString("N"));

    public SecretCommandTests() => Directory.CreateDirectory(_directory);

    [Fact]
    public async Task Secret_commands_strip_one_newline_and_never_print_a_value()
    {
        using var upstream = new HttpListener();
        var upstreamPort = TesseraProcess.FreePort();
        upstream.Prefixes.Add($"http://127.0.0.1:{upstreamPort}/");
        upstream.Start();
        var received = new ConcurrentQueue<(string Target, string? Key)>();
        _ = ServeAsync(upstream, received);

        var port = TesseraProcess.FreePort();
        await File.WriteAllTextAsync(Path.Combine(_directory, "tessera.yaml"), $$"""
            server:
              listen: http://127.0.0.1:{{port}}
            storage: sqlite:data/tessera.db
            data_dir: data
            tools:
              - id: crm
                upstream: http://127.0.0.1:{{upstreamPort}}
                credential: { secret: crm-key, header: X-Api-Key }
                rotate_every: 30d
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
            agents:
              - id: support-agent
                owner: support-platform@corp.example
                purpose: Answer customer tickets
                expires: {{TesseraProcess.AgentExpiry}}
                auth:
                  client_secret_sha256: {{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AgentSecret)))}}
                allowed_scopes: [ "crm:read" ]
            """);

        await using var server = TesseraProcess.Start(_directory, null, "serve");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await server.WaitUntilReadyAsync(http);
        var outputs = new StringBuilder();

        // put strips "\n", rotate strips "\r\n"; the next proxied request carries exactly the value.
        var put = await TesseraProcess.RunWithInputAsync(_directory, First + "\n", "secret", "put", "crm-key");
        Assert.True(put.ExitCode == 0, put.Output);
        Assert.Contains("secret crm-key stored as version 1", put.Output, StringComparison.Ordinal);
        outputs.AppendLine(put.Output);
        var token = await TokenAsync(http);
        Assert.Equal(HttpStatusCode.OK, await ProxyAsync(http, token, "/proxy/crm/contacts/1"));

        var rotate = await TesseraProcess.RunWithInputAsync(_directory, Rotated + "\r\n", "secret", "rotate", "crm-key");
        Assert.True(rotate.ExitCode == 0, rotate.Output);
        Assert.Contains("rotated to version 2", rotate.Output, StringComparison.Ordinal);
        outputs.AppendLine(rotate.Output);
        Assert.Equal(HttpStatusCode.OK, await ProxyAsync(http, token, "/proxy/crm/contacts/2"));

        // A put over an existing secret is refused, and the refusal does not echo the value.
        var refused = await TesseraProcess.RunWithInputAsync(_directory, Refused + "\n", "secret", "put", "crm-key");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("already exists", refused.Output, StringComparison.Ordinal);
        outputs.AppendLine(refused.Output);

        var empty = await TesseraProcess.RunWithInputAsync(_directory, "\n", "secret", "put", "other-key");
        Assert.Equal(1, empty.ExitCode);

        var list = await TesseraProcess.RunAsync(_directory, "secret", "list");
        Assert.True(list.ExitCode == 0, list.Output);
        Assert.Contains("crm-key", list.Output, StringComparison.Ordinal);
        outputs.AppendLine(list.Output);
        var listJson = await TesseraProcess.RunAsync(_directory, "secret", "list", "--json");
        Assert.True(listJson.ExitCode == 0, listJson.Output);
        outputs.AppendLine(listJson.Output);

        var rekey = await TesseraProcess.RunAsync(_directory, "vault", "rekey");
        Assert.True(rekey.ExitCode == 0, rekey.Output);
        Assert.Contains("vault rekeyed: 2 data keys", rekey.Output, StringComparison.Ordinal);
        outputs.AppendLine(rekey.Output);
        Assert.Equal(HttpStatusCode.OK, await ProxyAsync(http, token, "/proxy/crm/contacts/3"));

        var audit = await TesseraProcess.RunAsync(_directory, "audit", "query", "--json");
        Assert.True(audit.ExitCode == 0, audit.Output);
        Assert.Contains("secret.rotated", audit.Output, StringComparison.Ordinal);
        outputs.AppendLine(audit.Output);

        Assert.Equal(0, await server.TerminateAsync());
        outputs.AppendLine(server.Output);

        Assert.Equal(
            [("/contacts/1", First), ("/contacts/2", Rotated), ("/contacts/3", Rotated)],
            received.ToArray());
        var all = outputs.ToString();
        foreach (var value in new[] { First, Rotated, Refused, token, AgentSecret })
        {
            Assert.DoesNotContain(value, all, StringComparison.Ordinal);
        }
    }

    private static async Task ServeAsync(HttpListener listener, ConcurrentQueue<(string, string?)> received)
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (HttpListenerException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            received.Enqueue((context.Request.RawUrl ?? "", context.Request.Headers["X-Api-Key"]));
            context.Response.StatusCode = 200;
            context.Response.Close();
        }
    }

    private static async Task<string> TokenAsync(HttpClient http)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", "crm:read")]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"support-agent:{AgentSecret}")));
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("access_token").GetString()!;
    }

    private static async Task<HttpStatusCode> ProxyAsync(HttpClient http, string token, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }


    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left behind in the temp directory; harmless.
        }
    }
}
