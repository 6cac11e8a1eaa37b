namespace Tessera.Server.Tests.Hosting;

/// <summary>
/// One node of several that has not confirmed within <c>cluster.max_staleness</c> (1 s by default)
/// that it applied every other node's changes: the token endpoint, introspection, the proxy and
/// <c>/readyz</c> answer 503 until it has read the change log again.
/// </summary>
public sealed class StaleNodeTests
{
    private static readonly TimeSpan JustPastMaxStaleness = TimeSpan.FromSeconds(1) + TimeSpan.FromMilliseconds(1);

    [Fact]
    public async Task A_node_that_has_not_read_the_change_log_within_max_staleness_answers_503_everywhere_a_revocation_matters()
    {
        ClusteredStore? node = null;
        await using var broker = await TestBroker.StartAsync(wrapStore: s => node = new ClusteredStore(s));
        var token = await broker.IssueAsync();
        await node!.Waiting;

        broker.Time.Advance(JustPastMaxStaleness);

        using var issue = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", "crm:read"));
        await OAuthAssert.ErrorAsync(issue, HttpStatusCode.ServiceUnavailable, OAuthErrorCodes.TemporarilyUnavailable);
        using var introspect = await broker.PostFormAsync("/oauth/introspect", [new("token", token)], TestBroker.Basic("support-agent", TestBroker.SupportSecret));
        await OAuthAssert.ErrorAsync(introspect, HttpStatusCode.ServiceUnavailable, OAuthErrorCodes.TemporarilyUnavailable);
        using var proxied = await broker.SendAsync(HttpMethod.Get, "/proxy/crm/customers", token);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, proxied.StatusCode);
        using var ready = await broker.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(3, (await broker.AuditEventsAsync()).Count(e => e.Record.ReasonCode == RefusalCodes.ClusterStale));
    }

    [Fact]
    public async Task A_stale_node_answers_again_once_it_has_read_the_change_log()
    {
        ClusteredStore? node = null;
        await using var broker = await TestBroker.StartAsync(wrapStore: s => node = new ClusteredStore(s));
        await node!.Waiting;
        broker.Time.Advance(JustPastMaxStaleness);
        using (var stale = await broker.Client.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, stale.StatusCode);
        }

        await node.NotifyAsync();

        using var ready = await broker.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.True(await broker.IsActiveAsync(await broker.IssueAsync()));
    }

    [Fact]
    public async Task A_node_alone_on_its_store_never_goes_stale()
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();

        broker.Time.Advance(TimeSpan.FromMinutes(5));

        Assert.True(await broker.IsActiveAsync(token));
        using var ready = await broker.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }
}
