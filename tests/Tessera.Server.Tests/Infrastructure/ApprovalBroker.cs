namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// The support-agent story: support-agent acts for alice on the CRM; reading is free, exporting and
/// changing billing need a member of security-oncall (bob, dave, and alice herself). carol is an
/// admin who approves nothing; eve is nobody. security-oncall also lists <c>corp:support-agent</c>:
/// an identity-provider account named like the agent, which must never decide the agent's own request.
/// </summary>
public static class ApprovalBroker
{
    public const string Secret = "approval-secret-0123456789abcdef";
    public const string Agent = "support-agent";
    public const string OtherAgent = "other-agent";

    /// <summary>The CIBA polling interval the broker hands out (the server's default): a poll this long after the last is on time.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>The vault secret that signs security-oncall's webhook notifications.</summary>
    public const string WebhookSecret = "oncall-hook";

    /// <summary>The vault secret the CRM upstream expects in X-Api-Key, when the broker has an upstream.</summary>
    public const string CrmKeySecret = "crm-key";

    /// <param name="wrapStore">Wraps the store (to make writes fail, for example).</param>
    /// <param name="webhook">When given, security-oncall announces each request to this URL, signed with <see cref="WebhookSecret"/>.</param>
    /// <param name="upstream">When given, the CRM tool forwards there with <see cref="CrmKeySecret"/>, and the broker listens on real HTTP.</param>
    /// <param name="realHttp">Listen on a loopback port (for raw request targets) instead of the in-memory server.</param>
    public static async Task<(TestBroker Broker, TestIdp Idp)> StartAsync(Func<Core.Storage.ITesseraStore, Core.Storage.ITesseraStore>? wrapStore = null, Uri? webhook = null,
        Uri? upstream = null, bool realHttp = false)
    {
        var crmUpstream = upstream is null ? "" : $"\n    upstream: \"{upstream}\"\n    credential: {{ secret: {CrmKeySecret}, header: X-Api-Key }}";
        var webhooks = webhook is null ? "" : $", webhooks: [ {{ url: \"{webhook}\", secret: {WebhookSecret} }} ]";
        var idp = new TestIdp();
        var directory = idp.NewBrokerDirectory();
        var hash = TestBroker.Sha256Hex(Secret);
        var yaml = $$"""
            server: { listen: "{{TestBroker.Issuer}}" }
            tokens: { default_ttl: 5m, max_ttl: 1h }
            {{TestIdp.Yaml}}
            admins: [ { idp: corp, sub: carol } ]
            approver_groups:
              - { id: security-oncall, members: [ { idp: corp, sub: bob }, { idp: corp, sub: dave }, { idp: corp, sub: alice }, { idp: corp, sub: {{Agent}} } ]{{webhooks}} }
              - { id: finance, members: [ { idp: corp, sub: frank } ] }
            principals:
              - { idp: corp, sub: alice, scopes: [ "crm:read", "crm:export", "crm:billing", "crm:refund" ] }
            tools:
              - id: crm{{crmUpstream}}
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
                  export: { rules: [ "POST /exports" ], approval: { group: security-oncall, ttl: 2m, max_uses: 1 } }
                  billing: { rules: [ "PUT /billing/*" ], approval: { group: security-oncall, ttl: 5m, max_uses: 3 } }
                  refund: { rules: [ "POST /refunds" ], approval: { group: finance } }
            agents:
              - id: {{Agent}}
                owner: support-platform@corp.example
                purpose: Answer customer tickets
                expires: 2027-06-30
                auth: { client_secret_sha256: {{hash}} }
                allowed_scopes: [ "crm:read", "crm:export", "crm:billing", "crm:refund" ]
                max_ttl: 10m
              - id: {{OtherAgent}}
                owner: other@corp.example
                purpose: Something else
                expires: 2027-06-30
                auth: { client_secret_sha256: {{hash}} }
                allowed_scopes: [ "crm:read", "crm:export" ]
            """;
        return (await TestBroker.StartAsync(yaml, directory, wrapStore: wrapStore, realHttp: realHttp || upstream is not null), idp);
    }

    /// <summary>support-agent exchanges alice's token for <paramref name="scope"/> on the CRM.</summary>
    public static Task<HttpResponseMessage> AskAsync(this TestBroker broker, TestIdp idp, string scope, params (string, string)[] extra) =>
        broker.PostFormAsync("/oauth/token",
        [
            new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            new("subject_token", idp.Mint("alice", broker.Time.GetUtcNow())),
            new("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            new("resource", "urn:tessera:tool:crm"),
            new("scope", scope),
            .. extra.Select(e => KeyValuePair.Create(e.Item1, e.Item2)),
        ], TestBroker.Basic(Agent, Secret));

    /// <summary>Asks for <paramref name="scope"/>, asserts <c>approval_required</c>, and returns the auth_req_id.</summary>
    public static async Task<string> RequestApprovalAsync(this TestBroker broker, TestIdp idp, string scope = "crm:export", params (string, string)[] extra)
    {
        using var response = await broker.AskAsync(idp, scope, extra);
        var body = await OAuthAssert.ErrorAsync(response, System.Net.HttpStatusCode.BadRequest, "approval_required");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("auth_req_id").GetString()!;
    }

    public static Task<HttpResponseMessage> PollAsync(this TestBroker broker, string authReqId, string agent = Agent) =>
        broker.PostFormAsync("/oauth/token", [new("grant_type", "urn:openid:params:grant-type:ciba"), new("auth_req_id", authReqId)], TestBroker.Basic(agent, Secret));

    /// <summary>Waits one <see cref="Interval"/>, polls as <paramref name="agent"/>, asserts a token, and returns it.</summary>
    public static async Task<string> RedeemAfterIntervalAsync(this TestBroker broker, string authReqId, string agent = Agent)
    {
        broker.Time.Advance(Interval);
        using var poll = await broker.PollAsync(authReqId, agent);
        return await OAuthAssert.TokenAsync(poll);
    }

    /// <summary>Waits one <see cref="Interval"/>, polls as <paramref name="agent"/>, asserts a 400 with <paramref name="error"/>, and returns the body.</summary>
    public static async Task<string> PollAfterIntervalRefusedAsync(this TestBroker broker, string authReqId, string error, string agent = Agent)
    {
        broker.Time.Advance(Interval);
        using var poll = await broker.PollAsync(authReqId, agent);
        return await OAuthAssert.ErrorAsync(poll, HttpStatusCode.BadRequest, error);
    }

    /// <summary><paramref name="approver"/> (bob unless said) approves <paramref name="authReqId"/>; asserts 200.</summary>
    public static async Task ApproveAsync(this TestBroker broker, TestIdp idp, string authReqId, string approver = "bob")
    {
        using var approved = await broker.DecideAsync(authReqId, "approve", idp.As(broker, approver));
        Assert.True(approved.StatusCode == HttpStatusCode.OK, await approved.Content.ReadAsStringAsync());
    }

    /// <summary>POSTs approve or deny as <paramref name="bearer"/>, with an optional comment.</summary>
    public static Task<HttpResponseMessage> DecideAsync(this TestBroker broker, string authReqId, string decision, string bearer, string? comment = null) =>
        broker.SendAsync(HttpMethod.Post, $"/admin/v1/approvals/{authReqId}/{decision}", bearer, comment is null ? null : new { comment });

    public static async Task<JsonElement> ListApprovalsAsync(this TestBroker broker, string bearer, string query = "")
    {
        using var response = await broker.SendAsync(HttpMethod.Get, "/admin/v1/approvals" + query, bearer);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("approvals").Clone();
    }

    public static string As(this TestIdp idp, TestBroker broker, string sub) => idp.MintAdmin(sub, broker.Time.GetUtcNow());
}
