using Tessera.Core.Vault;
using Tessera.Server.Tests.Mcp;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// A broker on a loopback port in front of a real MCP server (<see cref="McpTestServer"/>) as the
/// MCP tool <c>issues</c>: <c>issues:read</c> lists tools and calls <c>get_issue</c>;
/// <c>issues:admin</c> calls <c>delete_*</c> with the approval of bob (security-oncall), one use.
/// An HTTP tool <c>billing</c> (<c>billing:change</c>, gated the same way) stands beside it. Every
/// log line the broker writes is kept in <see cref="Logs"/>; with a webhook receiver, security-oncall
/// announces each request to it, signed.
/// </summary>
public sealed class McpApprovalBroker : IAsyncDisposable
{
    /// <summary>What the vault holds for the MCP server: formatted to <see cref="McpTestServer.Credential"/>.</summary>
    public const string IssuesKey = "upstream-secret";

    public const string WebhookSecret = "oncall-hook";

    private McpApprovalBroker(McpTestServer upstream, TestBroker broker, TestIdp idp, CapturingLoggerProvider logs)
    {
        Upstream = upstream;
        Broker = broker;
        Idp = idp;
        Logs = logs;
    }

    public McpTestServer Upstream { get; }

    public TestBroker Broker { get; private set; }

    public TestIdp Idp { get; }

    public CapturingLoggerProvider Logs { get; }

    /// <summary>The MCP endpoint agents connect to.</summary>
    public Uri Endpoint => new(Broker.Address!, "/proxy/issues");

    /// <param name="webhook">When given, security-oncall announces each request there, signed with <see cref="WebhookSecret"/>.</param>
    /// <param name="httpUpstream">The billing tool's upstream; a closed port when not given.</param>
    public static async Task<McpApprovalBroker> StartAsync(Uri? webhook = null, Uri? httpUpstream = null)
    {
        var upstream = await McpTestServer.StartAsync();
        var idp = new TestIdp();
        var logs = new CapturingLoggerProvider();
        var webhooks = webhook is null ? "" : $", webhooks: [ {{ url: \"{webhook}\", secret: {WebhookSecret} }} ]";
        var yaml = $$"""
            server:
              listen: {{TestBroker.Issuer}}
            storage: sqlite:data/tessera.db
            data_dir: data
            tokens:
              default_ttl: 5m
              max_ttl: 1h
            {{TestIdp.Yaml}}
            approver_groups:
              - { id: security-oncall, members: [ { idp: corp, sub: bob } ]{{webhooks}} }
            tools:
              - id: issues
                protocol: mcp
                upstream: {{upstream.Endpoint}}
                credential: { secret: issues-key, header: Authorization, format: "Bearer {secret}" }
                scopes:
                  read: { rules: [ "MCP tools/list", "MCP tools/call get_issue" ] }
                  admin: { rules: [ "MCP tools/call delete_*" ], approval: { group: security-oncall, ttl: 2m, max_uses: 1 } }
              - id: billing
                upstream: {{httpUpstream ?? new Uri("http://127.0.0.1:9/")}}
                scopes:
                  change: { rules: [ "PUT /billing/*" ], approval: { group: security-oncall, ttl: 2m, max_uses: 1 } }
            agents:
            {{TestBroker.SupportAgentYaml("\"issues:read\", \"issues:admin\", \"billing:change\"")}}
            """;
        var broker = await TestBroker.StartAsync(yaml, idp.NewBrokerDirectory(), realHttp: true, configure: logs.AddTo);
        await PutAsync(broker, "issues-key", IssuesKey);
        return new McpApprovalBroker(upstream, broker, idp, logs);
    }

    public static async Task PutAsync(TestBroker broker, string name, string value)
    {
        var put = await broker.Service<SecretVault>().PutAsync(name, Encoding.UTF8.GetBytes(value), "test", null, CancellationToken.None);
        Assert.True(put.Error is null, put.Error?.Message);
    }

    /// <summary>The <c>authorization_details</c> binding a token to <c>tools/call <paramref name="name"/></c> with arguments whose canonical form is <paramref name="canonical"/>, sending <paramref name="arguments"/> for the approver (none when null).</summary>
    public static string Call(string name, string canonical, string? arguments, string tool = "issues") =>
        $$"""[{"type":"tessera_mcp_call","tool":"{{tool}}","name":"{{name}}","arguments_sha256":"{{Sha256(canonical)}}"{{(arguments is null ? "" : ",\"arguments\":" + arguments)}}}]""";

    public static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>support-agent asks for <paramref name="scope"/> with <paramref name="details"/>; the response.</summary>
    public Task<HttpResponseMessage> AskAsync(string scope, string details) =>
        Broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", scope), ("reason", "duplicate issue"), ("authorization_details", details));

    /// <summary>Asks, asserts <c>approval_required</c>, and returns the auth_req_id.</summary>
    public async Task<string> RequestAsync(string scope, string details)
    {
        using var asked = await AskAsync(scope, details);
        var body = await OAuthAssert.ErrorAsync(asked, HttpStatusCode.BadRequest, "approval_required");
        using var answer = JsonDocument.Parse(body);
        return answer.RootElement.GetProperty("auth_req_id").GetString()!;
    }

    /// <summary>bob approves <paramref name="id"/>, support-agent redeems it after one polling interval: the token.</summary>
    public async Task<string> ApproveAndRedeemAsync(string id)
    {
        await Broker.ApproveAsync(Idp, id);
        Broker.Time.Advance(ApprovalBroker.Interval);
        using var redeemed = await Broker.PostFormAsync("/oauth/token",
            [new("grant_type", "urn:openid:params:grant-type:ciba"), new("auth_req_id", id)], TestBroker.Basic("support-agent", TestBroker.SupportSecret));
        return await OAuthAssert.TokenAsync(redeemed);
    }

    /// <summary>Asks, bob approves, the agent redeems: the token bound to the call.</summary>
    public async Task<string> ApprovedTokenAsync(string scope, string details) => await ApproveAndRedeemAsync(await RequestAsync(scope, details));

    /// <summary>POSTs one JSON-RPC message to the MCP endpoint as it is written, with <paramref name="token"/>.</summary>
    public async Task<HttpResponseMessage> PostAsync(string token, string message, string? sessionId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/proxy/issues") { Content = new StringContent(message, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        if (sessionId is not null)
        {
            request.Headers.Add("Mcp-Session-Id", sessionId);
        }

        return await Broker.Client.SendAsync(request);
    }

    /// <summary>Stops the broker and starts another on the same data (a restart); the MCP server keeps running.</summary>
    public async Task RestartAsync() => Broker = await Broker.RestartAsync();

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        await Upstream.DisposeAsync();
        Logs.Dispose();
    }
}
