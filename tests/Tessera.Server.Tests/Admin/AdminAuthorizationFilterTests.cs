namespace Tessera.Server.Tests.Admin;

/// <summary>
/// The one gate of the admin API: who each route admits (its <c>AdminAccess</c>), what a refused
/// caller gets and what the audit log keeps of it, and that a body is judged before its caller.
/// </summary>
public sealed class AdminAuthorizationFilterTests
{
    [Fact]
    public async Task A_request_without_a_bearer_token_is_401_with_the_admin_realm_and_audited_with_its_route()
    {
        var (broker, _) = await ApprovalBroker.StartAsync();
        await using var _ = broker;

        using var response = await broker.Client.GetAsync("/admin/v1/keys");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer realm=\"tessera-admin\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var denied = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == "admin.denied");
        Assert.Equal("GET /admin/v1/keys: no bearer token", denied.Record.Reason);
        Assert.Equal(RefusalCodes.AdminTokenMissing, denied.Record.ReasonCode);
        Assert.Equal("denied", denied.Record.Outcome);
    }

    [Fact]
    public async Task An_approver_is_admitted_to_the_approval_routes_and_refused_403_on_every_other_route()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var bob = idp.As(broker, "bob");

        using var approvals = await broker.SendAsync(HttpMethod.Get, "/admin/v1/approvals", bob);
        using var agents = await broker.SendAsync(HttpMethod.Get, "/admin/v1/agents", bob);

        Assert.Equal(HttpStatusCode.OK, approvals.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, agents.StatusCode);
        Assert.Equal("This identity is not an admin.", await DetailAsync(agents));
        var events = await broker.AuditEventsAsync();
        Assert.Equal("corp:bob", Assert.Single(events, e => e.Record.Type == "admin.read").Record.Principal);
        Assert.Equal("GET /admin/v1/agents: corp:bob is not an admin", Assert.Single(events, e => e.Record.Type == "admin.denied").Record.Reason);
        await AuditAssert.LastRefusalAsync(broker, "admin.denied", RefusalCodes.AdminNotAdmin);
    }

    [Fact]
    public async Task An_identity_that_is_neither_admin_nor_approver_is_refused_403_on_the_approval_routes()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;

        using var response = await broker.SendAsync(HttpMethod.Get, "/admin/v1/approvals", idp.As(broker, "mallory"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("This identity is neither an admin nor a member of an approver group.", await DetailAsync(response));
        var denied = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == "admin.denied");
        Assert.Equal("GET /admin/v1/approvals: corp:mallory is neither an admin nor an approver", denied.Record.Reason);
        Assert.Equal(RefusalCodes.AdminNotApprover, denied.Record.ReasonCode);
    }

    [Fact]
    public async Task A_body_is_bounded_and_typed_before_its_caller_is_checked()
    {
        var (broker, _) = await ApprovalBroker.StartAsync();
        await using var _ = broker;

        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/revocations")
        {
            Content = new StringContent("""{"kind":"agent","id":"support-agent"}""", Encoding.UTF8, "text/plain"),
        };
        using var response = await broker.Client.SendAsync(request);

        // 415, not 401: the body's check comes first, so the one refusal on record is the body's, not the caller's.
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        var refusal = await AuditAssert.RefusedOnceAsync(broker, "admin.denied", RefusalCodes.AdminBodyMediaType);
        Assert.Null(refusal.Record.Principal);
        Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == "admin.denied");
    }

    private static async Task<string?> DetailAsync(HttpResponseMessage response)
    {
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return problem.RootElement.GetProperty("detail").GetString();
    }
}
