namespace Tessera.Server.Tests.Approvals;

/// <summary>
/// Revoking an approval (docs/approvals.md, "Revoking"): a pending or approved one yields no token any more, a
/// redeemed one's token stops working at once, and the step is durable.
/// </summary>
public sealed class ApprovalRevocationTests
{
    [Fact]
    public async Task A_revoked_pending_request_can_no_longer_be_approved_and_polls_answer_access_denied()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);

        using (var revoked = await RevokeAsync(broker, broker.AdminToken, id))
        {
            var body = await revoked.Content.ReadAsStringAsync();
            Assert.True(revoked.StatusCode == HttpStatusCode.OK, body);
            using var json = JsonDocument.Parse(body);
            Assert.Equal("approval", json.RootElement.GetProperty("kind").GetString());
            Assert.Equal(id, json.RootElement.GetProperty("id").GetString());
        }

        using var approve = await broker.DecideAsync(id, "approve", idp.As(broker, "bob"));
        Assert.Equal(HttpStatusCode.Conflict, approve.StatusCode);
        var error = await broker.PollAfterIntervalRefusedAsync(id, "access_denied");
        Assert.Contains("revoked", error, StringComparison.Ordinal);

        var listed = Assert.Single((await broker.ListApprovalsAsync(broker.AdminToken)).EnumerateArray());
        Assert.Equal("revoked", listed.GetProperty("status").GetString());
        Assert.Equal("bootstrap-admin", listed.GetProperty("revoked_by").GetString());
        Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == "approval.revoked" && e.Record.Agent == "support-agent");
    }

    [Fact]
    public async Task Revoking_a_redeemed_approval_revokes_its_token_at_once_and_after_a_restart()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        var id = await broker.RequestApprovalAsync(idp);
        (await broker.DecideAsync(id, "approve", idp.As(broker, "bob"))).Dispose();
        var token = await broker.RedeemAfterIntervalAsync(id);
        Assert.True((await broker.IntrospectAsync(token)).GetProperty("active").GetBoolean());

        using (var revoked = await RevokeAsync(broker, broker.AdminToken, id))
        {
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        Assert.False((await broker.IntrospectAsync(token)).GetProperty("active").GetBoolean());
        var jti = DelegationBroker.Claims(token).GetProperty("jti").GetString();
        var record = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == "approval.revoked");
        Assert.Equal(jti, record.Record.Jti);
        Assert.DoesNotContain(token, record.Record.Reason, StringComparison.Ordinal);

        await using var restarted = await broker.RestartAsync();
        Assert.False((await restarted.IntrospectAsync(token)).GetProperty("active").GetBoolean());
        var listed = Assert.Single((await restarted.ListApprovalsAsync(restarted.AdminToken)).EnumerateArray());
        Assert.Equal("revoked", listed.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Revoking_is_for_admins_and_only_for_approvals_that_can_still_yield_or_hold_a_token()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var denied = await broker.RequestApprovalAsync(idp, "crm:billing");
        (await broker.DecideAsync(denied, "deny", idp.As(broker, "dave"))).Dispose();
        var pending = await broker.RequestApprovalAsync(idp);

        using (var byApprover = await RevokeAsync(broker, idp.As(broker, "bob"), pending))
        {
            Assert.Equal(HttpStatusCode.Forbidden, byApprover.StatusCode);
        }

        using (var ofDenied = await RevokeAsync(broker, broker.AdminToken, denied))
        {
            Assert.Equal(HttpStatusCode.Conflict, ofDenied.StatusCode);
            Assert.Contains("nothing to revoke", await ofDenied.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var unknown = await RevokeAsync(broker, broker.AdminToken, "no-such-request"))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        using (var noId = await RevokeAsync(broker, broker.AdminToken, ""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, noId.StatusCode);
        }

        // The pending one is untouched by all of that, and revoking twice is harmless.
        Assert.Equal(HttpStatusCode.OK, (await RevokeAsync(broker, broker.AdminToken, pending)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await RevokeAsync(broker, broker.AdminToken, pending)).StatusCode);
        Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == "approval.revoked");
    }

    private static Task<HttpResponseMessage> RevokeAsync(TestBroker broker, string bearer, string id) =>
        broker.SendAsync(HttpMethod.Post, "/admin/v1/revocations", bearer, new { kind = "approval", id });
}
