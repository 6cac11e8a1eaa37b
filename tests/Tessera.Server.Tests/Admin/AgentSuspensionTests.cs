namespace Tessera.Server.Tests.Admin;

public sealed class AgentSuspensionTests
{
    [Fact]
    public async Task A_suspended_agent_gets_no_new_tokens_keeps_those_it_has_and_the_state_survives_a_restart()
    {
        var broker = await TestBroker.StartAsync();
        var before = await broker.IssueAsync();
        Assert.Equal(HttpStatusCode.OK, (await broker.AdminAsync(HttpMethod.Post, "/admin/v1/agents/support-agent/suspend")).StatusCode);

        using var refused = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", "crm:read"));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("suspended", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True((await broker.IntrospectAsync(before)).GetProperty("active").GetBoolean());

        broker = await broker.RestartAsync();
        await using (broker)
        {
            using var stillRefused = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", "crm:read"));
            Assert.Equal(HttpStatusCode.Unauthorized, stillRefused.StatusCode);
            using var agents = await broker.AdminAsync(HttpMethod.Get, "/admin/v1/agents");
            Assert.Contains("\"status\":\"suspended\"", await agents.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            Assert.Equal(HttpStatusCode.OK, (await broker.AdminAsync(HttpMethod.Post, "/admin/v1/agents/support-agent/resume")).StatusCode);
            Assert.NotEmpty(await broker.IssueAsync());
            Assert.Equal(HttpStatusCode.NotFound, (await broker.AdminAsync(HttpMethod.Post, "/admin/v1/agents/nobody/suspend")).StatusCode);
            await AuditAssert.LastRefusalAsync(broker, "admin.denied", RefusalCodes.AdminAgentUnknown);

            var events = await broker.Store.Audit.QueryAsync(new Core.Audit.AuditQuery { Agent = "support-agent" }, CancellationToken.None);
            Assert.Contains(events, e => e.Record.Type == "admin.agent_suspended");
            Assert.Contains(events, e => e.Record.Type == "admin.agent_resumed");
        }
    }
}
