namespace Tessera.Server.Tests.Hosting;

public sealed class RevocationDurabilityTests
{
    [Fact]
    public async Task A_revoked_token_is_inactive_from_the_response_on_and_after_a_restart()
    {
        var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();
        var other = await broker.IssueAsync();

        using var revoke = await broker.PostFormAsync("/oauth/revoke", [new("token", token)], TestBroker.Basic("support-agent", TestBroker.SupportSecret));
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.False(await broker.IsActiveAsync(token));
        Assert.True(await broker.IsActiveAsync(other));

        broker = await broker.RestartAsync();
        await using (broker)
        {
            Assert.False(await broker.IsActiveAsync(token));
            Assert.True(await broker.IsActiveAsync(other));
        }
    }

    [Fact]
    public async Task Revoking_an_agent_kills_every_token_it_holds_and_survives_a_restart()
    {
        var broker = await TestBroker.StartAsync();
        var first = await broker.IssueAsync();
        var second = await broker.IssueAsync("crm:export");

        using var response = await broker.AdminAsync(HttpMethod.Post, "/admin/v1/revocations", new { kind = "agent", id = "support-agent" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(await broker.IsActiveAsync(first));
        Assert.False(await broker.IsActiveAsync(second));

        broker = await broker.RestartAsync();
        await using (broker)
        {
            Assert.False(await broker.IsActiveAsync(first));
            // A token issued after the revocation (a second later) is alive: revocation is not suspension.
            broker.Time.Advance(TimeSpan.FromSeconds(1));
            Assert.True(await broker.IsActiveAsync(await broker.IssueAsync()));
        }
    }

    [Fact]
    public async Task An_agent_revocation_outlives_every_token_it_covers_even_when_max_ttl_is_raised_after_it()
    {
        // A day-long token, issued while tokens.max_ttl is 1d.
        var dayLong = TestBroker.DefaultYaml().Replace("max_ttl: 1h", "max_ttl: 1d", StringComparison.Ordinal).Replace("max_ttl: 10m", "max_ttl: 1d", StringComparison.Ordinal);
        var broker = await TestBroker.StartAsync(dayLong);
        var token = await broker.IssueAsync();
        var directory = broker.Directory;
        var time = broker.Time;
        await broker.StopForRestartAsync();

        // max_ttl lowered to 1h: the agent is revoked, and an hour later its revocation could look spent.
        broker = await TestBroker.StartAsync(TestBroker.DefaultYaml(), directory, time);
        using (var response = await broker.AdminAsync(HttpMethod.Post, "/admin/v1/revocations", new { kind = "agent", id = "support-agent" }))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        time.Advance(TimeSpan.FromHours(2));
        await broker.Service<Core.Revocation.RevocationService>().PruneAsync(CancellationToken.None);
        await broker.StopForRestartAsync();

        // max_ttl back at 1d: the token is unexpired and within the lifetime bound, and still revoked.
        await using var restarted = await TestBroker.StartAsync(dayLong, directory, time);
        Assert.False(await restarted.IsActiveAsync(token));
        var validation = await restarted.Service<Core.Tokens.AccessTokenValidator>().ValidateAsync(token, CancellationToken.None);
        Assert.Equal(Core.Tokens.TokenStatus.Revoked, validation.Status);
    }
}
