using System.Net;
using System.Net.Http.Headers;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Approvals;

/// <summary>An approved token at the proxy, over real HTTP to a real upstream: its <c>max_uses</c> hold.</summary>
public sealed class ApprovalProxyTests
{
    [Fact]
    public async Task An_approved_export_passes_the_proxy_exactly_once()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var idp = new TestIdp();
        var directory = Path.Combine(Path.GetTempPath(), "tessera-test-" + Guid.NewGuid().ToString("N"));
        idp.WriteJwks(directory);
        var yaml = ProxyBroker.Yaml(upstream.Address, extraTools: """
              - id: billing
                upstream: {UPSTREAM}
                scopes:
                  change: { rules: [ "PUT /billing/*" ], approval: { group: security-oncall, ttl: 2m, max_uses: 1 } }
            """, agentScopes: ["billing:change"])
            .Replace("\ntools:\n", $"\n{TestIdp.Yaml}\napprover_groups:\n  - {{ id: security-oncall, members: [ {{ idp: corp, sub: bob }} ] }}\ntools:\n", StringComparison.Ordinal);
        await using var broker = await TestBroker.StartAsync(yaml, directory, realHttp: true);

        using var asked = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", "billing:change"), ("reason", "customer moved to annual billing"));
        var body = await OAuthAssert.ErrorAsync(asked, HttpStatusCode.BadRequest, "approval_required");
        using var answer = System.Text.Json.JsonDocument.Parse(body);
        var id = answer.RootElement.GetProperty("auth_req_id").GetString()!;

        using (var approve = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/approvals/{id}/approve"))
        {
            approve.Headers.Authorization = new AuthenticationHeaderValue("Bearer", idp.Mint("bob", broker.Time.GetUtcNow()));
            using var approved = await broker.Client.SendAsync(approve);
            Assert.True(approved.StatusCode == HttpStatusCode.OK, await approved.Content.ReadAsStringAsync());
        }

        broker.Time.Advance(TimeSpan.FromSeconds(5));
        using var redeemed = await broker.PostFormAsync("/oauth/token",
            [new("grant_type", "urn:openid:params:grant-type:ciba"), new("auth_req_id", id)], TestBroker.Basic("support-agent", TestBroker.SupportSecret));
        var token = await OAuthAssert.TokenAsync(redeemed);

        using var first = await PutAsync(broker, token);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using var second = await PutAsync(broker, token);
        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
        Assert.Single(upstream.Received);
    }

    private static async Task<HttpResponseMessage> PutAsync(TestBroker broker, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "/proxy/billing/billing/4711") { Content = new StringContent("""{"plan":"annual"}""") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await broker.Client.SendAsync(request);
    }
}
