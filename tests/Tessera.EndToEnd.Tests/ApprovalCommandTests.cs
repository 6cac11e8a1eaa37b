using System.Buffers.Text;

namespace Tessera.EndToEnd.Tests;

/// <summary>
/// <c>tessera approval list|approve|deny</c> against the real process (docs/approvals.md,
/// docs/reference/cli.md): an agent asks for a gated scope, an approver with an identity-provider JWT in
/// <c>TESSERA_TOKEN</c> lists, approves and denies from the command line, and the agent's CIBA polls
/// get the token or <c>access_denied</c>; someone outside the group is refused with a clear message.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Speed", "Slow")] // real processes; a developer's fast set leaves them out (README.md)
public sealed class ApprovalCommandTests : IDisposable
{
    private const string AgentSecret = "e2e-approval-agent-secret-5c1e9a7d3b";
    private const string IdpIssuer = "https://idp.e2e.test";
    private const string IdpKid = "e2e-idp-key";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-e2e-" + Guid.NewGuid().ToString("N"));
    private readonly ECDsa _idpKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public ApprovalCommandTests() => Directory.CreateDirectory(_directory);

    /// <summary>Writes the configuration and starts <c>tessera serve</c> on a free port, ready.</summary>
    private async Task<(TesseraProcess Server, HttpClient Http, string Address)> StartAsync()
    {
        var port = TesseraProcess.FreePort();
        var address = $"http://127.0.0.1:{port}";
        await WriteConfigAsync(port);
        var server = TesseraProcess.Start(_directory, null, "serve");
        var http = new HttpClient { BaseAddress = new Uri(address) };
        try
        {
            await server.WaitUntilReadyAsync(http);
        }
        catch
        {
            http.Dispose();
            await server.DisposeAsync();
            throw;
        }

        return (server, http, address);
    }

    [Fact]
    public async Task An_approver_lists_approves_and_denies_with_the_cli_and_the_agent_gets_a_token_or_access_denied()
    {
        var (server, http, address) = await StartAsync();
        await using var _ = server;
        using var __ = http;

        // support-agent, acting for alice, asks twice for the gated export scope.
        var export = await AskAsync(http, "customer 4711 asked for their data");
        var second = await AskAsync(http, "bulk export of every account");

        var bob = Approver(address, "bob");
        var frank = Approver(address, "frank");
        var eve = Approver(address, "eve");

        // The approver sees both requests waiting: as lines to read, and as JSON to script.
        var list = await TesseraProcess.RunAsync(_directory, bob, "approval", "list", "--status", "pending");
        Assert.True(list.ExitCode == 0, list.Output);
        var exportLine = Assert.Single(Lines(list.Output), l => l.StartsWith(export.Id, StringComparison.Ordinal));
        Assert.Contains("pending  support-agent for alice  crm:export  group security-oncall", exportLine, StringComparison.Ordinal);
        Assert.EndsWith("reason: customer 4711 asked for their data", exportLine, StringComparison.Ordinal);
        Assert.Single(Lines(list.Output), l => l.StartsWith(second.Id, StringComparison.Ordinal));

        var listJson = await TesseraProcess.RunAsync(_directory, bob, "approval", "list", "--status", "pending", "--json");
        Assert.True(listJson.ExitCode == 0, listJson.Output);
        var pending = Lines(listJson.Output).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(new[] { export.Id, second.Id }.Order(StringComparer.Ordinal), pending.Select(p => p.GetProperty("id").GetString()!).Order(StringComparer.Ordinal));
        Assert.All(pending, p =>
        {
            Assert.Equal("pending", p.GetProperty("status").GetString());
            Assert.Equal("alice", p.GetProperty("principal").GetString());
            Assert.Equal("security-oncall", p.GetProperty("group").GetString());
            Assert.Equal(["crm:export"], p.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        });

        // Outside the group, exit 1 and the reason on stderr: frank approves for finance, not for
        // security-oncall; eve approves nothing and may not even look.
        var notInGroup = await TesseraProcess.RunAsync(_directory, frank, "approval", "approve", export.Id);
        Assert.Equal(1, notInGroup.ExitCode);
        Assert.Contains("Tessera refused (403): Only members of approver group 'security-oncall' decide this request.", notInGroup.Output, StringComparison.Ordinal);
        var stranger = await TesseraProcess.RunAsync(_directory, eve, "approval", "list");
        Assert.Equal(1, stranger.ExitCode);
        Assert.Contains("Tessera refused (403): This identity is neither an admin nor a member of an approver group.", stranger.Output, StringComparison.Ordinal);

        var approved = await TesseraProcess.RunAsync(_directory, bob, "approval", "approve", export.Id, "--comment", "ticket 4711, verified");
        Assert.True(approved.ExitCode == 0, approved.Output);
        Assert.Contains($"approval {export.Id} is approved", approved.Output, StringComparison.Ordinal);
        var denied = await TesseraProcess.RunAsync(_directory, bob, "approval", "deny", second.Id, "--comment", "not without a ticket");
        Assert.True(denied.ExitCode == 0, denied.Output);
        Assert.Contains($"approval {second.Id} is denied", denied.Output, StringComparison.Ordinal);

        // CIBA: the interval (slow_down) paces polls of a request still waiting; once decided, the
        // next poll gets the answer at once, so nothing here waits for the real clock.
        using var redeemed = await PollAsync(http, export.Id);
        var body = await redeemed.Content.ReadAsStringAsync();
        Assert.True(redeemed.StatusCode == HttpStatusCode.OK, body);
        var token = JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
        var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[1])).RootElement;
        Assert.Equal("alice", claims.GetProperty("sub").GetString());
        Assert.Equal("crm:export", claims.GetProperty("scope").GetString());
        Assert.Equal(1, claims.GetProperty("max_uses").GetInt32());

        using var refusedPoll = await PollAsync(http, second.Id);
        var refusal = await refusedPoll.Content.ReadAsStringAsync();
        Assert.True(refusedPoll.StatusCode == HttpStatusCode.BadRequest, refusal);
        Assert.Equal("access_denied", JsonDocument.Parse(refusal).RootElement.GetProperty("error").GetString());

        // The list now tells what happened and who decided.
        var after = await TesseraProcess.RunAsync(_directory, bob, "approval", "list", "--json");
        Assert.True(after.ExitCode == 0, after.Output);
        var decided = Lines(after.Output).Select(l => JsonDocument.Parse(l).RootElement).ToDictionary(a => a.GetProperty("id").GetString()!);
        Assert.Equal("redeemed", decided[export.Id].GetProperty("status").GetString());
        Assert.Equal("corp:bob", decided[export.Id].GetProperty("decided_by").GetString());
        Assert.Equal("ticket 4711, verified", decided[export.Id].GetProperty("comment").GetString());
        Assert.Equal("denied", decided[second.Id].GetProperty("status").GetString());

        // An admin (the bootstrap token, read from data_dir) ends the approval: its token is revoked too.
        var revoked = await TesseraProcess.RunAsync(_directory, "revoke", "--approval", export.Id);
        Assert.True(revoked.ExitCode == 0, revoked.Output);
        Assert.Contains($"revoked approval {export.Id}", revoked.Output, StringComparison.Ordinal);
        var afterRevoke = await TesseraProcess.RunAsync(_directory, bob, "approval", "list", "--status", "revoked", "--json");
        Assert.Equal(export.Id, JsonDocument.Parse(Assert.Single(Lines(afterRevoke.Output))).RootElement.GetProperty("id").GetString());

        Assert.Equal(0, await server.TerminateAsync());
        Assert.DoesNotContain(token, server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(bob["TESSERA_TOKEN"], server.Output + list.Output + approved.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_list_shows_an_mcp_call_with_the_arguments_the_agent_submitted_or_only_their_hash()
    {
        var (server, http, address) = await StartAsync();
        await using var _ = server;
        using var __ = http;

        // The agent sends the arguments in its own order and spacing; the approver reads them canonical.
        const string canonical = """{"number":7,"repo":"widgets"}""";
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
        var shown = await AskForCallAsync(http, $$"""[{"type":"tessera_mcp_call","tool":"issues","name":"delete_issue","arguments_sha256":"{{hash}}","arguments":{ "repo": "widgets", "number": 7 } }]""");
        var hashed = await AskForCallAsync(http, $$"""[{"type":"tessera_mcp_call","tool":"issues","name":"delete_issue","arguments_sha256":"{{hash}}"}]""");

        var list = await TesseraProcess.RunAsync(_directory, Approver(address, "bob"), "approval", "list", "--status", "pending");

        Assert.True(list.ExitCode == 0, list.Output);
        var shownLine = Assert.Single(Lines(list.Output), l => l.StartsWith(shown, StringComparison.Ordinal));
        Assert.Contains("pending  support-agent  issues:admin  group security-oncall", shownLine, StringComparison.Ordinal);
        Assert.Contains($"  only tools/call delete_issue with arguments {canonical}  reason: issue 7 is a duplicate", shownLine, StringComparison.Ordinal);
        var hashedLine = Assert.Single(Lines(list.Output), l => l.StartsWith(hashed, StringComparison.Ordinal));
        Assert.Contains($"  only tools/call delete_issue with arguments hashing to {hash} (not shown by the agent)", hashedLine, StringComparison.Ordinal);
        Assert.Equal(0, await server.TerminateAsync());
    }

    /// <summary>support-agent asks by client_credentials for issues:admin bound to <paramref name="details"/>: approval_required, the auth_req_id.</summary>
    private static async Task<string> AskForCallAsync(HttpClient http, string details)
    {
        using var response = await PostAsync(http, "/oauth/token",
            ("grant_type", "client_credentials"), ("scope", "issues:admin"), ("reason", "issue 7 is a duplicate"), ("authorization_details", details));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal("approval_required", json.GetProperty("error").GetString());
        return json.GetProperty("auth_req_id").GetString()!;
    }

    private async Task WriteConfigAsync(int port)
    {
        var p = _idpKey.ExportParameters(includePrivateParameters: false);
        await File.WriteAllTextAsync(Path.Combine(_directory, "idp.jwks.json"), JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "EC", crv = "P-256", x = Base64Url.EncodeToString(p.Q.X), y = Base64Url.EncodeToString(p.Q.Y), kid = IdpKid, use = "sig", alg = "ES256" } },
        }));
        await File.WriteAllTextAsync(Path.Combine(_directory, "tessera.yaml"), $$"""
            server:
              listen: http://127.0.0.1:{{port}}
            storage: sqlite:data/tessera.db
            data_dir: data
            identity_providers:
              - id: corp
                issuer: {{IdpIssuer}}
                jwks_file: idp.jwks.json
                audience: tessera
            approver_groups:
              - { id: security-oncall, members: [ { idp: corp, sub: bob } ] }
              - { id: finance, members: [ { idp: corp, sub: frank } ] }
            principals:
              - { idp: corp, sub: alice, scopes: [ "crm:read", "crm:export" ] }
            tools:
              - id: crm
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
                  export: { rules: [ "POST /exports" ], approval: { group: security-oncall, ttl: 2m, max_uses: 1 } }
              - id: issues
                protocol: mcp
                upstream: http://127.0.0.1:9/mcp
                scopes:
                  admin: { rules: [ "MCP tools/call delete_*" ], approval: { group: security-oncall, ttl: 2m, max_uses: 1 } }
            agents:
              - id: support-agent
                owner: support-platform@corp.example
                purpose: Answer customer tickets
                expires: {{TesseraProcess.AgentExpiry}}
                auth:
                  client_secret_sha256: {{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AgentSecret)))}}
                allowed_scopes: [ "crm:read", "crm:export", "issues:admin" ]
            """);
    }

    /// <summary>A JWT of the identity provider for <paramref name="sub"/> and <paramref name="aud"/> (default: the admin audience), valid for ten minutes from now.</summary>
    private string IdpToken(string sub, string aud = "tessera-admin")
    {
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var signingInput = Encode(new { alg = "ES256", typ = "JWT", kid = IdpKid }) + "." + Encode(new { iss = IdpIssuer, sub, aud, iat = now, nbf = now, exp = now + 600 });
        var signature = _idpKey.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);

        static string Encode(object value) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));
    }

    private Dictionary<string, string> Approver(string address, string sub) => new() { ["TESSERA_ADDR"] = address, ["TESSERA_TOKEN"] = IdpToken(sub) };

    /// <summary>support-agent exchanges alice's token for crm:export: approval_required, with the id and interval to poll.</summary>
    private async Task<(string Id, int Interval)> AskAsync(HttpClient http, string reason)
    {
        using var response = await PostAsync(http, "/oauth/token",
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token", IdpToken("alice", aud: "tessera")),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ("resource", "urn:tessera:tool:crm"),
            ("scope", "crm:export"),
            ("reason", reason));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal("approval_required", json.GetProperty("error").GetString());
        return (json.GetProperty("auth_req_id").GetString()!, json.GetProperty("interval").GetInt32());
    }

    private static Task<HttpResponseMessage> PollAsync(HttpClient http, string id) =>
        PostAsync(http, "/oauth/token", ("grant_type", "urn:openid:params:grant-type:ciba"), ("auth_req_id", id));

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, string path, params (string, string)[] form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new FormUrlEncodedContent(form.Select(f => KeyValuePair.Create(f.Item1, f.Item2))),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"support-agent:{AgentSecret}")));
        return await http.SendAsync(request);
    }

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);


    public void Dispose()
    {
        _idpKey.Dispose();
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
