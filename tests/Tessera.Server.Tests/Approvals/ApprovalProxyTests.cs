using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Approvals;

/// <summary>An approved token at the proxy, over real HTTP to a real upstream: its <c>max_uses</c> and exact request hold.</summary>
public sealed class ApprovalProxyTests
{
    private const string Body = """{"plan":"annual"}""";

    [Fact]
    public async Task An_approved_change_passes_the_proxy_exactly_once()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, idp) = await StartAsync(upstream);
        await using var _ = broker;
        var token = await ApprovedTokenAsync(broker, idp);

        using var first = await PutAsync(broker, token, "/proxy/billing/billing/4711", Body);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using var second = await PutAsync(broker, token, "/proxy/billing/billing/4711", Body);
        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
        Assert.Single(upstream.Received);
    }

    [Fact]
    public async Task An_exact_request_approval_refuses_another_body_path_or_query_and_passes_the_approved_one()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, idp) = await StartAsync(upstream);
        await using var _ = broker;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Body)));
        var token = await ApprovedTokenAsync(broker, idp,
            ("authorization_details", $$"""[{"type":"tessera_request","tool":"billing","method":"PUT","path":"/billing/4711","body_sha256":"{{hash}}"}]"""));

        using (var otherBody = await PutAsync(broker, token, "/proxy/billing/billing/4711", """{"plan":"free"}"""))
        {
            Assert.Equal(HttpStatusCode.Forbidden, otherBody.StatusCode);
        }

        using (var otherPath = await PutAsync(broker, token, "/proxy/billing/billing/4712", Body))
        {
            Assert.Equal(HttpStatusCode.Forbidden, otherPath.StatusCode);
        }

        using (var query = await PutAsync(broker, token, "/proxy/billing/billing/4711?force=true", Body))
        {
            Assert.Equal(HttpStatusCode.Forbidden, query.StatusCode);
        }

        Assert.Empty(upstream.Received);

        // Refusals spend no use: the approved request still passes, once.
        using var exact = await PutAsync(broker, token, "/proxy/billing/billing/4711", Body);
        Assert.Equal(HttpStatusCode.OK, exact.StatusCode);
        var received = Assert.Single(upstream.Received);
        Assert.Equal(Body, Encoding.UTF8.GetString(received.Body));
    }

    private static async Task<(TestBroker Broker, TestIdp Idp)> StartAsync(TestUpstream upstream)
    {
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
        return (await TestBroker.StartAsync(yaml, directory, realHttp: true), idp);
    }

    /// <summary>support-agent asks for billing:change, bob approves, the agent redeems: the token.</summary>
    private static async Task<string> ApprovedTokenAsync(TestBroker broker, TestIdp idp, params (string, string)[] extra)
    {
        using var asked = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret,
            [("scope", "billing:change"), ("reason", "customer moved to annual billing"), .. extra]);
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
        return await OAuthAssert.TokenAsync(redeemed);
    }

    private static async Task<HttpResponseMessage> PutAsync(TestBroker broker, string token, string path, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await broker.Client.SendAsync(request);
    }
}
