namespace Tessera.Server.Tests.Approvals;

/// <summary>An approved token at the proxy, over real HTTP to a real upstream: its <c>max_uses</c> and exact request hold.</summary>
public sealed class ApprovalProxyTests
{
    private const string Body = """{"plan":"annual"}""";

    [Fact]
    public async Task An_approved_change_passes_the_proxy_exactly_once()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, idp) = await ApprovalProxyBroker.StartAsync(upstream);
        await using var _ = broker;
        var token = await ApprovalProxyBroker.ApprovedTokenAsync(broker, idp);

        using var first = await ApprovalProxyBroker.PutAsync(broker, token, "/proxy/billing/billing/4711", Body);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using var second = await ApprovalProxyBroker.PutAsync(broker, token, "/proxy/billing/billing/4711", Body);
        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
        Assert.Single(upstream.Received);
    }

    [Fact]
    public async Task An_approved_body_of_900_KB_passes_whole_and_one_byte_changed_does_not()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, idp) = await ApprovalProxyBroker.StartAsync(upstream);
        await using var _ = broker;
        // Far beyond the 30 KB past which request buffering would spool to disk by default.
        var body = "{\"rows\":\"" + new string('x', 900 * 1024) + "\"}";
        var token = await ApprovalProxyBroker.ApprovedTokenAsync(broker, idp,
            ("authorization_details", ApprovalProxyBroker.ExactRequest("PUT", "/billing/4711", Encoding.UTF8.GetBytes(body))));

        using (var changed = await ApprovalProxyBroker.PutAsync(broker, token, "/proxy/billing/billing/4711", body.Replace("xx\"}", "xy\"}", StringComparison.Ordinal)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, changed.StatusCode);
        }

        using var exact = await ApprovalProxyBroker.PutAsync(broker, token, "/proxy/billing/billing/4711", body);
        Assert.Equal(HttpStatusCode.OK, exact.StatusCode);
        Assert.Equal(body, Encoding.UTF8.GetString(Assert.Single(upstream.Received).Body));
    }

    [Fact]
    public async Task An_exact_request_approval_refuses_another_body_path_or_query_and_passes_the_approved_one()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, idp) = await ApprovalProxyBroker.StartAsync(upstream);
        await using var _ = broker;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Body)));
        var token = await ApprovalProxyBroker.ApprovedTokenAsync(broker, idp,
            ("authorization_details", $$"""[{"type":"tessera_request","tool":"billing","method":"PUT","path":"/billing/4711","body_sha256":"{{hash}}"}]"""));

        using (var otherBody = await ApprovalProxyBroker.PutAsync(broker, token, "/proxy/billing/billing/4711", """{"plan":"free"}"""))
        {
            Assert.Equal(HttpStatusCode.Forbidden, otherBody.StatusCode);
        }

        using (var otherPath = await ApprovalProxyBroker.PutAsync(broker, token, "/proxy/billing/billing/4712", Body))
        {
            Assert.Equal(HttpStatusCode.Forbidden, otherPath.StatusCode);
        }

        using (var query = await ApprovalProxyBroker.PutAsync(broker, token, "/proxy/billing/billing/4711?force=true", Body))
        {
            Assert.Equal(HttpStatusCode.Forbidden, query.StatusCode);
        }

        Assert.Empty(upstream.Received);

        // Refusals spend no use: the approved request still passes, once.
        using var exact = await ApprovalProxyBroker.PutAsync(broker, token, "/proxy/billing/billing/4711", Body);
        Assert.Equal(HttpStatusCode.OK, exact.StatusCode);
        var received = Assert.Single(upstream.Received);
        Assert.Equal(Body, Encoding.UTF8.GetString(received.Body));
    }
}
