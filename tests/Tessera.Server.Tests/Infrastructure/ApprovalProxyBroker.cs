namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// A broker on a loopback port in front of a real upstream with a <c>billing</c> tool whose one scope,
/// <c>change</c> (<c>PUT /billing/*</c>), needs the approval of bob (security-oncall) and allows one use.
/// support-agent asks by client_credentials, bob approves, the agent redeems.
/// </summary>
public static class ApprovalProxyBroker
{
    public static async Task<(TestBroker Broker, TestIdp Idp)> StartAsync(TestUpstream upstream)
    {
        var idp = new TestIdp();
        var directory = idp.NewBrokerDirectory();
        var yaml = ProxyBroker.Yaml(upstream.Address, extraTools: """
              - id: billing
                upstream: {UPSTREAM}
                scopes:
                  change: { rules: [ "PUT /billing/*" ], approval: { group: security-oncall, ttl: 2m, max_uses: 1 } }
            """, agentScopes: ["billing:change"])
            .Replace("\ntools:\n", $"\n{TestIdp.Yaml}\napprover_groups:\n  - {{ id: security-oncall, members: [ {{ idp: corp, sub: bob }} ] }}\ntools:\n", StringComparison.Ordinal);
        return (await TestBroker.StartAsync(yaml, directory, realHttp: true), idp);
    }

    /// <summary>The <c>authorization_details</c> binding a token to exactly <paramref name="method"/> <paramref name="path"/> with <paramref name="body"/>.</summary>
    public static string ExactRequest(string method, string path, byte[] body) =>
        $$"""[{"type":"tessera_request","tool":"billing","method":"{{method}}","path":"{{path}}","body_sha256":"{{Convert.ToHexStringLower(SHA256.HashData(body))}}"}]""";

    /// <summary>support-agent asks for billing:change, bob approves, the agent redeems: the token.</summary>
    public static async Task<string> ApprovedTokenAsync(TestBroker broker, TestIdp idp, params (string, string)[] extra)
    {
        using var asked = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret,
            [("scope", "billing:change"), ("reason", "customer moved to annual billing"), .. extra]);
        var body = await OAuthAssert.ErrorAsync(asked, HttpStatusCode.BadRequest, "approval_required");
        using var answer = JsonDocument.Parse(body);
        var id = answer.RootElement.GetProperty("auth_req_id").GetString()!;

        using (var approve = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/approvals/{id}/approve"))
        {
            approve.Headers.Authorization = new AuthenticationHeaderValue("Bearer", idp.MintAdmin("bob", broker.Time.GetUtcNow()));
            using var approved = await broker.Client.SendAsync(approve);
            Assert.True(approved.StatusCode == HttpStatusCode.OK, await approved.Content.ReadAsStringAsync());
        }

        broker.Time.Advance(TimeSpan.FromSeconds(5));
        using var redeemed = await broker.PostFormAsync("/oauth/token",
            [new("grant_type", "urn:openid:params:grant-type:ciba"), new("auth_req_id", id)], TestBroker.Basic("support-agent", TestBroker.SupportSecret));
        return await OAuthAssert.TokenAsync(redeemed);
    }

    public static async Task<HttpResponseMessage> PutAsync(TestBroker broker, string token, string path, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await broker.Client.SendAsync(request);
    }
}
