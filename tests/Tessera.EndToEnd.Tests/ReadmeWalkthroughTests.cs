namespace Tessera.EndToEnd.Tests;

/// <summary>
/// The README's five-minute walkthrough against the real process over real HTTP: first start writes
/// the sample, a token is issued, looked at, introspected, revoked, and the audit log shows and
/// verifies it all; SIGTERM exits 0.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Speed", "Slow")] // real processes; a developer's fast set leaves them out (README.md)
public sealed class ReadmeWalkthroughTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-e2e-" + Guid.NewGuid().ToString("N"));

    public ReadmeWalkthroughTests() => Directory.CreateDirectory(_directory);

    [Fact]
    public async Task The_walkthrough_works_against_the_real_process()
    {
        var port = TesseraProcess.FreePort();
        var (initCode, initOutput) = await TesseraProcess.RunAsync(_directory, "init");
        Assert.True(initCode == 0, initOutput);
        var configPath = Path.Combine(_directory, "tessera.yaml");
        await File.WriteAllTextAsync(configPath, (await File.ReadAllTextAsync(configPath)).Replace("127.0.0.1:8080", $"127.0.0.1:{port}", StringComparison.Ordinal));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_directory, "data", "support-agent.secret")));

        await using var server = TesseraProcess.Start(_directory, null, "serve");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await server.WaitUntilReadyAsync(http);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_directory, "data", "master.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_directory, "data", "admin.token")));

        // A second server on the same data would fork the audit chain: it is refused.
        var (secondCode, secondOutput) = await TesseraProcess.RunAsync(_directory, "serve");
        Assert.Equal(1, secondCode);
        Assert.Contains("Another tessera serve", secondOutput, StringComparison.Ordinal);

        var secret = (await File.ReadAllTextAsync(Path.Combine(_directory, "data", "support-agent.secret"))).Trim();
        var basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"support-agent:{secret}")));

        // 1. Get a token.
        using var tokenResponse = await PostAsync(http, "/oauth/token", basic, ("grant_type", "client_credentials"), ("scope", "crm:read"));
        Assert.Equal(HttpStatusCode.OK, tokenResponse.StatusCode);
        using var tokenJson = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync());
        var token = tokenJson.RootElement.GetProperty("access_token").GetString()!;

        // 2. Look at it.
        var payload = JsonDocument.Parse(Base64UrlDecode(token.Split('.')[1])).RootElement;
        Assert.Equal("support-agent", payload.GetProperty("sub").GetString());
        Assert.Equal("urn:tessera:tool:crm", payload.GetProperty("aud").GetString());

        // 3. Introspect, 4. revoke, introspect again.
        Assert.True(await IsActiveAsync(http, basic, token));
        using var revoke = await PostAsync(http, "/oauth/revoke", basic, ("token", token));
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.False(await IsActiveAsync(http, basic, token));

        // 5. The audit log tells the story and verifies.
        var (queryCode, queryOutput) = await TesseraProcess.RunAsync(_directory, "audit", "query", "--agent", "support-agent", "--json");
        Assert.True(queryCode == 0, queryOutput);
        var types = queryOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("type").GetString()).ToList();
        Assert.Contains("token.issued", types);
        Assert.Contains("token.revoked", types);
        Assert.DoesNotContain(secret, queryOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(token, queryOutput, StringComparison.Ordinal);

        var (verifyCode, verifyOutput) = await TesseraProcess.RunAsync(_directory, "audit", "verify");
        Assert.True(verifyCode == 0, verifyOutput);
        Assert.Contains("audit chain intact", verifyOutput, StringComparison.Ordinal);

        Assert.Equal(0, await server.TerminateAsync());
        Assert.DoesNotContain(secret, server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_refuses_a_configuration_missing_an_agents_owner_and_names_the_path()
    {
        await File.WriteAllTextAsync(Path.Combine(_directory, "tessera.yaml"), $$"""
            tools:
              - id: crm
                scopes: { read: { rules: [ "GET /x" ] } }
            agents:
              - id: ok-agent
                owner: someone@example.com
                purpose: fine
                expires: {{TesseraProcess.AgentExpiry}}
                auth: { client_secret_sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae }
              - id: orphan-agent
                purpose: nobody owns me
                expires: {{TesseraProcess.AgentExpiry}}
                auth: { client_secret_sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae }
            """);

        var (code, output) = await TesseraProcess.RunAsync(_directory, "serve");

        Assert.Equal(1, code);
        Assert.Contains("tessera.yaml", output, StringComparison.Ordinal);
        Assert.Contains("agents[1].owner", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_directory, "data", "tessera.db")));
    }


    private static async Task<bool> IsActiveAsync(HttpClient http, AuthenticationHeaderValue auth, string token)
    {
        using var response = await PostAsync(http, "/oauth/introspect", auth, ("token", token));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("active").GetBoolean();
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, string path, AuthenticationHeaderValue auth, params (string, string)[] form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new FormUrlEncodedContent(form.Select(f => KeyValuePair.Create(f.Item1, f.Item2))),
        };
        request.Headers.Authorization = auth;
        return await http.SendAsync(request);
    }

    private static byte[] Base64UrlDecode(string text) => System.Buffers.Text.Base64Url.DecodeFromChars(text);

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
