namespace Tessera.Server.Tests.Approvals;

/// <summary>The approval flow of docs/approvals.md through HTTP: ask, poll, decide, redeem once.</summary>
public sealed class ApprovalFlowTests
{
    [Fact]
    public async Task The_support_agent_reads_freely_and_exports_once_a_group_member_approves()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;

        // Reading needs nobody's approval.
        using var read = await broker.AskAsync(idp, "crm:read");
        await OAuthAssert.TokenAsync(read);

        using var asked = await broker.AskAsync(idp, "crm:export", ("reason", "customer 4711 asked for their data"));
        var body = await OAuthAssert.ErrorAsync(asked, HttpStatusCode.BadRequest, "approval_required");
        using var answer = JsonDocument.Parse(body);
        var id = answer.RootElement.GetProperty("auth_req_id").GetString()!;
        Assert.Equal(32, System.Buffers.Text.Base64Url.DecodeFromChars(id).Length);
        Assert.Equal(600, answer.RootElement.GetProperty("expires_in").GetInt64());
        Assert.Equal(5, answer.RootElement.GetProperty("interval").GetInt64());

        // The approver sees who asks, for whom, for what and why.
        var pending = await broker.ListApprovalsAsync(idp.As(broker, "bob"), "?status=pending");
        var item = Assert.Single(pending.EnumerateArray());
        Assert.Equal(id, item.GetProperty("id").GetString());
        Assert.Equal("support-agent", item.GetProperty("agent").GetString());
        Assert.Equal("alice", item.GetProperty("principal").GetString());
        Assert.Equal("customer 4711 asked for their data", item.GetProperty("reason").GetString());
        Assert.Equal("security-oncall", item.GetProperty("group").GetString());
        Assert.Equal(["crm:export"], item.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(["support-agent"], item.GetProperty("actor_chain").EnumerateArray().Select(s => s.GetString()));
        Assert.StartsWith("m_", item.GetProperty("mission").GetString(), StringComparison.Ordinal);

        broker.Time.Advance(ApprovalBroker.Interval);
        using (var waiting = await broker.PollAsync(id))
        {
            await OAuthAssert.ErrorAsync(waiting, HttpStatusCode.BadRequest, "authorization_pending");
        }

        using (var approved = await broker.DecideAsync(id, "approve", idp.As(broker, "bob"), "ticket 4711, verified"))
        {
            var decided = await approved.Content.ReadAsStringAsync();
            Assert.True(approved.StatusCode == HttpStatusCode.OK, decided);
            using var json = JsonDocument.Parse(decided);
            Assert.Equal("approved", json.RootElement.GetProperty("status").GetString());
            Assert.Equal("corp:bob", json.RootElement.GetProperty("decided_by").GetString());
            Assert.Equal("ticket 4711, verified", json.RootElement.GetProperty("comment").GetString());
        }

        var token = await broker.RedeemAfterIntervalAsync(id);
        var claims = DelegationBroker.Claims(token);
        Assert.Equal("crm:export", claims.GetProperty("scope").GetString());
        Assert.Equal(1, claims.GetProperty("max_uses").GetInt32());
        Assert.Equal(120, claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64());
        Assert.Equal("alice", claims.GetProperty("sub").GetString());
        Assert.Equal("support-agent", claims.GetProperty("act").GetProperty("sub").GetString());
        Assert.True((await broker.IntrospectAsync(token)).GetProperty("active").GetBoolean());

        // One approval, one token.
        await broker.PollAfterIntervalRefusedAsync(id, "invalid_grant");

        var events = await broker.AuditEventsAsync();
        var requested = Assert.Single(events, e => e.Record.Type == "approval.requested");
        Assert.Equal("alice", requested.Record.Principal);
        Assert.Contains("customer 4711", requested.Record.Reason, StringComparison.Ordinal);
        var approval = Assert.Single(events, e => e.Record.Type == "approval.approved");
        Assert.Contains("corp:bob", approval.Record.Reason, StringComparison.Ordinal);
        Assert.Contains("ticket 4711, verified", approval.Record.Reason, StringComparison.Ordinal);
        Assert.Single(events, e => e.Record.Type == "token.issued" && e.Record.Jti == claims.GetProperty("jti").GetString());
        var listed = Assert.Single((await broker.ListApprovalsAsync(broker.AdminToken)).EnumerateArray());
        Assert.Equal("redeemed", listed.GetProperty("status").GetString());
    }

    [Fact]
    public async Task The_support_agent_story_over_real_http_through_the_proxy()
    {
        await using var crm = await TestUpstream.StartAsync();
        var (broker, idp) = await ApprovalBroker.StartAsync(upstream: crm.Address);
        await using var _ = broker;
        var put = await broker.Service<Core.Vault.SecretVault>().PutAsync(ApprovalBroker.CrmKeySecret, "crm-upstream-key-29f1"u8.ToArray(), "test", null, CancellationToken.None);
        Assert.Null(put.Error);

        // Reading is free.
        using var asked = await broker.AskAsync(idp, "crm:read");
        var read = await OAuthAssert.TokenAsync(asked);
        using (var contacts = await broker.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/4711", read))
        {
            Assert.Equal(HttpStatusCode.OK, contacts.StatusCode);
        }

        // The read token cannot export.
        using (var sneaky = await broker.SendAsync(HttpMethod.Post, "/proxy/crm/exports", read))
        {
            Assert.Equal(HttpStatusCode.Forbidden, sneaky.StatusCode);
        }

        // Exporting waits for security-oncall; bob approves; exactly one export passes.
        var export = await broker.RequestApprovalAsync(idp, "crm:export", ("reason", "customer 4711 asked for their data"));
        using (var approved = await broker.DecideAsync(export, "approve", idp.As(broker, "bob"), "verified ticket 4711"))
        {
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        }

        var exportToken = await broker.RedeemAfterIntervalAsync(export);
        using (var first = await broker.SendAsync(HttpMethod.Post, "/proxy/crm/exports", exportToken))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using (var second = await broker.SendAsync(HttpMethod.Post, "/proxy/crm/exports", exportToken))
        {
            Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
        }

        Assert.Equal(["GET /contacts/4711", "POST /exports"], crm.Received.Select(r => $"{r.Method} {r.RawTarget}"));
        Assert.All(crm.Received, r => Assert.Equal("crm-upstream-key-29f1", r.Headers["X-Api-Key"]));

        // A billing change is denied: the agent hears access_denied.
        var billing = await broker.RequestApprovalAsync(idp, "crm:billing");
        (await broker.DecideAsync(billing, "deny", idp.As(broker, "dave"), "not without the account owner")).Dispose();
        await broker.PollAfterIntervalRefusedAsync(billing, "access_denied");

        var types = (await broker.AuditEventsAsync()).Select(e => e.Record.Type).ToList();
        Assert.Equal(2, types.Count(t => t == "proxy.forwarded"));
        Assert.Equal(2, types.Count(t => t == "approval.requested"));
        Assert.Single(types, t => t == "approval.approved");
        Assert.Single(types, t => t == "approval.denied");
    }

    [Fact]
    public async Task A_denied_request_answers_access_denied()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp, "crm:billing");

        using var denied = await broker.DecideAsync(id, "deny", idp.As(broker, "dave"), "not for this customer");
        Assert.Equal(HttpStatusCode.OK, denied.StatusCode);

        await broker.PollAfterIntervalRefusedAsync(id, "access_denied");
        Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == "approval.denied");
    }

    [Fact]
    public async Task The_principal_the_agent_acts_for_cannot_approve_even_as_a_group_member()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);

        using var self = await broker.DecideAsync(id, "approve", idp.As(broker, "alice"));
        Assert.Equal(HttpStatusCode.Forbidden, self.StatusCode);
        Assert.Contains("own request", await self.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await broker.PollAfterIntervalRefusedAsync(id, "authorization_pending");
    }

    [Fact]
    public async Task Nobody_outside_the_scopes_group_decides_not_even_an_admin_or_the_bootstrap_token()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);

        using var admin = await broker.DecideAsync(id, "approve", idp.As(broker, "carol"));
        Assert.Equal(HttpStatusCode.Forbidden, admin.StatusCode);
        using var otherGroup = await broker.DecideAsync(id, "approve", idp.As(broker, "frank"));
        Assert.Equal(HttpStatusCode.Forbidden, otherGroup.StatusCode);
        using var bootstrap = await broker.DecideAsync(id, "approve", broker.AdminToken);
        Assert.Equal(HttpStatusCode.Forbidden, bootstrap.StatusCode);
        using var stranger = await broker.DecideAsync(id, "approve", idp.As(broker, "eve"));
        Assert.Equal(HttpStatusCode.Forbidden, stranger.StatusCode);
        using var anonymous = await broker.DecideAsync(id, "approve", "not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        var pending = Assert.Single((await broker.ListApprovalsAsync(idp.As(broker, "bob"))).EnumerateArray());
        Assert.Equal("pending", pending.GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_undecided_request_expires_into_expired_token()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);

        broker.Time.Advance(TimeSpan.FromMinutes(10));
        using var poll = await broker.PollAsync(id);
        await OAuthAssert.ErrorAsync(poll, HttpStatusCode.BadRequest, "expired_token");

        using var late = await broker.DecideAsync(id, "approve", idp.As(broker, "bob"));
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == "approval.expired");
    }

    [Fact]
    public async Task Polling_faster_than_the_interval_is_slow_down_and_lengthens_it()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);

        using var early = await broker.PollAsync(id);
        var body = await OAuthAssert.ErrorAsync(early, HttpStatusCode.BadRequest, "slow_down");
        using var json = JsonDocument.Parse(body);
        Assert.Equal(10, json.RootElement.GetProperty("interval").GetInt64());

        await broker.PollAfterIntervalRefusedAsync(id, "slow_down");

        broker.Time.Advance(TimeSpan.FromSeconds(15));
        using var patient = await broker.PollAsync(id);
        await OAuthAssert.ErrorAsync(patient, HttpStatusCode.BadRequest, "authorization_pending");
    }

    [Fact]
    public async Task Only_the_client_that_asked_can_poll()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);
        await broker.ApproveAsync(idp, id);

        await broker.PollAfterIntervalRefusedAsync(id, "invalid_grant", ApprovalBroker.OtherAgent);
        using var unknown = await broker.PollAsync("bm90LWFuLWlk");
        await OAuthAssert.ErrorAsync(unknown, HttpStatusCode.BadRequest, "invalid_grant");
        using var mine = await broker.PollAsync(id);
        await OAuthAssert.TokenAsync(mine);
    }

    [Fact]
    public async Task Two_approvers_racing_make_one_decision_and_at_most_one_token()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        for (var round = 0; round < 5; round++)
        {
            var id = await broker.RequestApprovalAsync(idp);
            var bob = idp.As(broker, "bob");
            var dave = idp.As(broker, "dave");
            var decisions = await Task.WhenAll(
                broker.DecideAsync(id, "approve", bob, "bob says yes"),
                broker.DecideAsync(id, round % 2 == 0 ? "deny" : "approve", dave, "dave decides too"));
            Assert.Single(decisions, r => r.StatusCode == HttpStatusCode.OK);
            Assert.Single(decisions, r => r.StatusCode == HttpStatusCode.Conflict);
            var winner = decisions.Single(r => r.StatusCode == HttpStatusCode.OK);
            using var winnerJson = JsonDocument.Parse(await winner.Content.ReadAsStringAsync());
            var status = winnerJson.RootElement.GetProperty("status").GetString();

            broker.Time.Advance(ApprovalBroker.Interval);
            var polls = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => broker.PollAsync(id)));
            Assert.Equal(status == "approved" ? 1 : 0, polls.Count(r => r.StatusCode == HttpStatusCode.OK));
            foreach (var r in decisions.Concat(polls))
            {
                r.Dispose();
            }
        }

        var events = await broker.AuditEventsAsync();
        Assert.Equal(5, events.Count(e => e.Record.Type is "approval.approved" or "approval.denied"));
        Assert.Equal(events.Count(e => e.Record.Type == "approval.approved"), events.Count(e => e.Record.Type == "token.issued" && e.Record.Reason!.Contains("approval", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Approvers_see_only_their_own_groups_requests_and_admins_see_all()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        await broker.RequestApprovalAsync(idp);
        await broker.RequestApprovalAsync(idp, "crm:refund");

        var security = Assert.Single((await broker.ListApprovalsAsync(idp.As(broker, "bob"))).EnumerateArray());
        Assert.Equal("security-oncall", security.GetProperty("group").GetString());
        var finance = Assert.Single((await broker.ListApprovalsAsync(idp.As(broker, "frank"))).EnumerateArray());
        Assert.Equal("finance", finance.GetProperty("group").GetString());
        Assert.Equal(2, (await broker.ListApprovalsAsync(idp.As(broker, "carol"))).GetArrayLength());
        Assert.Equal(2, (await broker.ListApprovalsAsync(broker.AdminToken)).GetArrayLength());

        using var stranger = await broker.SendAsync(HttpMethod.Get, "/admin/v1/approvals", idp.As(broker, "eve"));
        Assert.Equal(HttpStatusCode.Forbidden, stranger.StatusCode);
    }

    [Fact]
    public async Task A_redemption_that_cannot_be_recorded_hands_out_nothing_and_can_be_retried()
    {
        FlakyStore? flaky = null;
        var (broker, idp) = await ApprovalBroker.StartAsync(store => flaky = new FlakyStore(store));
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);
        await broker.ApproveAsync(idp, id);

        broker.Time.Advance(ApprovalBroker.Interval);
        flaky!.FailAppends = true;
        using var failed = await broker.PollAsync(id);
        await OAuthAssert.ErrorAsync(failed, HttpStatusCode.ServiceUnavailable, "server_error");

        flaky.FailAppends = false;
        using var retried = await broker.PollAsync(id);
        await OAuthAssert.TokenAsync(retried);
        Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == "token.issued" && e.Record.Reason!.Contains(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_agent_revoked_while_its_request_waits_gets_no_token_even_when_approved()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);

        broker.Time.Advance(TimeSpan.FromSeconds(2));
        using var revoked = await broker.AdminAsync(HttpMethod.Post, "/admin/v1/revocations", new { kind = "agent", id = "support-agent" });
        Assert.True(revoked.IsSuccessStatusCode, await revoked.Content.ReadAsStringAsync());

        await broker.ApproveAsync(idp, id);
        var body = await broker.PollAfterIntervalRefusedAsync(id, "invalid_grant");
        Assert.Contains("revoked", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pending_request_survives_a_restart()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        var id = await broker.RequestApprovalAsync(idp);
        await using var restarted = await broker.RestartAsync();

        var pending = Assert.Single((await restarted.ListApprovalsAsync(idp.As(restarted, "bob"), "?status=pending")).EnumerateArray());
        Assert.Equal(id, pending.GetProperty("id").GetString());
        using var approved = await restarted.DecideAsync(id, "approve", idp.As(restarted, "bob"));
        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        await restarted.RedeemAfterIntervalAsync(id);
    }

    [Fact]
    public async Task An_exact_request_binding_is_shown_to_the_approver_and_carried_by_the_token()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var body = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("""{"contact":"4711"}""")));
        var details = $$"""[{"type":"tessera_request","tool":"crm","method":"POST","path":"/exports","body_sha256":"{{body}}"}]""";
        var id = await broker.RequestApprovalAsync(idp, "crm:export", ("authorization_details", details));

        var item = Assert.Single((await broker.ListApprovalsAsync(idp.As(broker, "bob"))).EnumerateArray());
        Assert.Equal(body, item.GetProperty("authorization_details")[0].GetProperty("body_sha256").GetString());
        using var approved = await broker.DecideAsync(id, "approve", idp.As(broker, "bob"));
        broker.Time.Advance(ApprovalBroker.Interval);
        using var redeemed = await broker.PollAsync(id);
        var claims = DelegationBroker.Claims(await OAuthAssert.TokenAsync(redeemed));
        var detail = claims.GetProperty("authorization_details")[0];
        Assert.Equal("POST", detail.GetProperty("method").GetString());
        Assert.Equal("/exports", detail.GetProperty("path").GetString());
        Assert.Equal(body, detail.GetProperty("body_sha256").GetString());
    }

    [Theory]
    [InlineData("""{"type":"tessera_request"}""")]
    [InlineData("""[{"type":"tessera_request","tool":"crm","method":"GET","path":"/exports","body_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]""")]
    [InlineData("""[{"type":"tessera_request","tool":"crm","method":"POST","path":"/exports/../exports","body_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]""")]
    [InlineData("""[{"type":"tessera_request","tool":"crm","method":"POST","path":"/exports","body_sha256":"E3B0"}]""")]
    [InlineData("""[{"type":"tessera_request","tool":"github","method":"POST","path":"/exports","body_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]""")]
    [InlineData("""[{"type":"tessera_request","tool":"crm","method":"POST","path":"/exports","body_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","extra":"x"}]""")]
    [InlineData("""[{"type":"payment","tool":"crm","method":"POST","path":"/exports","body_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]""")]
    [InlineData("not json")]
    public async Task Malformed_authorization_details_are_refused_before_anyone_is_asked(string details)
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        using var response = await broker.AskAsync(idp, "crm:export", ("authorization_details", details));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_authorization_details");
        Assert.Empty((await broker.ListApprovalsAsync(broker.AdminToken)).EnumerateArray());
    }

    [Fact]
    public async Task Client_credentials_ask_too_and_scopes_of_two_groups_are_refused_together()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        using var own = await broker.ClientCredentialsAsync(ApprovalBroker.Agent, ApprovalBroker.Secret, ("scope", "crm:export"));
        await OAuthAssert.ErrorAsync(own, HttpStatusCode.BadRequest, "approval_required");
        var item = Assert.Single((await broker.ListApprovalsAsync(idp.As(broker, "bob"))).EnumerateArray());
        Assert.False(item.TryGetProperty("principal", out var __));

        using var mixed = await broker.ClientCredentialsAsync(ApprovalBroker.Agent, ApprovalBroker.Secret, ("scope", "crm:export crm:refund"));
        await OAuthAssert.ErrorAsync(mixed, HttpStatusCode.BadRequest, "invalid_scope");
    }
}
