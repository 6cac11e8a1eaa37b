using Tessera.Client.Tests.Infrastructure;

namespace Tessera.Client.Tests;

public sealed class TesseraApprovalRequiredExceptionTests
{
    [Fact]
    public async Task Approval_required_surfaces_with_its_auth_req_id_interval_and_expiry()
    {
        var (broker, _) = await ApprovalBroker.StartAsync();
        await using var _broker = broker;
        await using var host = AgentHost.Create(broker, o => { o.AgentId = ApprovalBroker.Agent; o.UseClientSecret(ApprovalBroker.Secret); });

        var pending = await Assert.ThrowsAsync<TesseraApprovalRequiredException>(async () =>
            await host.Agent.GetTokenAsync("crm", ["crm:export"], TestContext.Current.CancellationToken));

        Assert.Equal("approval_required", pending.Error);
        Assert.False(string.IsNullOrEmpty(pending.Approval.AuthReqId));
        Assert.Equal(ApprovalBroker.Interval, pending.Approval.Interval);
        Assert.True(pending.Approval.ExpiresIn > TimeSpan.Zero);
        Assert.Equal("crm", pending.Approval.Tool);
        Assert.Equal(["crm:export"], pending.Approval.Scopes);
    }
}
