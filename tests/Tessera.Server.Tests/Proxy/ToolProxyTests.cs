using Tessera.Server.Proxy;

namespace Tessera.Server.Tests.Proxy;

public sealed class ToolProxyTests : IAsyncLifetime
{
    private ProxyBroker _proxy = null!;

    public async ValueTask InitializeAsync() => _proxy = await ProxyBroker.StartAsync();

    public async ValueTask DisposeAsync() => await _proxy.DisposeAsync();

    [Fact]
    public async Task An_allowed_request_arrives_with_the_vault_value_and_without_any_agent_credential()
    {
        var token = await _proxy.TokenAsync();

        using var response = await _proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/42?fields=name", token, r =>
        {
            r.Headers.Add("Cookie", "session=agent-cookie");
            r.Headers.Add("DPoP", "agent-proof");
            r.Headers.Add("X-Api-Key", "agent-supplied-key");
            r.Headers.Add("X-Forwarded-For", "10.6.6.6");
            r.Headers.Add("X-Request-Note", "kept");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{\"ok\":true}", await response.Content.ReadAsStringAsync());
        var received = Assert.Single(_proxy.Upstream.Received);
        Assert.Equal("GET", received.Method);
        Assert.Equal("/contacts/42?fields=name", received.RawTarget);
        Assert.Equal(ProxyBroker.CrmKey, received.Headers["X-Api-Key"]);
        Assert.False(received.Headers.ContainsKey("Authorization"));
        Assert.False(received.Headers.ContainsKey("Cookie"));
        Assert.False(received.Headers.ContainsKey("DPoP"));
        Assert.False(received.Headers.ContainsKey("X-Forwarded-For"));
        Assert.Equal("kept", received.Headers["X-Request-Note"]);
        Assert.DoesNotContain(token, string.Join("\n", received.Headers.Values), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_credential_format_places_the_secret_in_the_configured_header()
    {
        var token = await _proxy.TokenAsync("github:repo.read");

        using var response = await _proxy.SendAsync(HttpMethod.Get, "/proxy/github/repos/acme/widgets", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(_proxy.Upstream.Received);
        Assert.Equal("Bearer " + ProxyBroker.GithubToken, received.Headers["Authorization"]);
    }

    [Fact]
    public async Task After_a_rotation_the_very_next_request_carries_the_new_value()
    {
        var token = await _proxy.TokenAsync();
        using (var before = await _proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/1", token))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await _proxy.RotateSecretAsync("crm-key", "crm-upstream-key-rotated-77");
        using var after = await _proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/1", token);

        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal([ProxyBroker.CrmKey, "crm-upstream-key-rotated-77"], _proxy.Upstream.Received.Select(r => r.Headers["X-Api-Key"]));
    }

    [Fact]
    public async Task A_request_body_is_forwarded_as_sent()
    {
        var token = await _proxy.TokenAsync("crm:export");
        var body = "{\"segment\":\"emea\",\"format\":\"csv\"}";

        using var response = await _proxy.SendAsync(HttpMethod.Post, "/proxy/crm/exports", token,
            r => r.Content = new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(_proxy.Upstream.Received);
        Assert.Equal("POST", received.Method);
        Assert.Equal(body, Encoding.UTF8.GetString(received.Body));
        Assert.StartsWith("application/json", received.Headers["Content-Type"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upstream_error_answer_passes_through_unchanged()
    {
        _proxy.Upstream.AnswerWith(404);
        var token = await _proxy.TokenAsync();

        using var response = await _proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/404", token);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_unreachable_upstream_is_a_502_problem()
    {
        var token = await _proxy.TokenAsync("dead:read");

        using var response = await _proxy.SendAsync(HttpMethod.Get, "/proxy/dead/anything", token);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("could not be reached", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upstream_that_does_not_answer_in_time_is_a_504_problem()
    {
        _proxy.Upstream.NeverAnswer();
        var token = await _proxy.TokenAsync("slow:read");

        using var response = await _proxy.SendAsync(HttpMethod.Get, "/proxy/slow/report", token);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(RefusalCodes.ProxyUpstreamTimeout, Assert.Single(await _proxy.Broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ProxyFailed).Record.ReasonCode);
    }

    [Fact]
    public async Task A_tool_whose_secret_is_not_in_the_vault_is_refused_and_never_called_unauthenticated()
    {
        var token = await _proxy.TokenAsync("nokey:read");

        using var response = await _proxy.SendAsync(HttpMethod.Get, "/proxy/nokey/data", token);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("not in the vault", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await AuditAssert.LastRefusalAsync(_proxy.Broker, AuditTypes.ProxyDenied, RefusalCodes.ProxyCredentialMissing);
        Assert.Empty(_proxy.Upstream.Received);
    }

    [Fact]
    public async Task Max_uses_lets_through_exactly_that_many_requests()
    {
        var token = _proxy.SignToken(c => c with { MaxUses = 2 });

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await _proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/1", token);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden], statuses);
        Assert.Equal(2, _proxy.Upstream.Received.Count);
    }

    [Fact]
    public async Task Max_uses_holds_under_concurrent_requests()
    {
        var token = _proxy.SignToken(c => c with { MaxUses = 3 });

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => _proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/1", token)));

        Assert.Equal(3, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(9, responses.Count(r => r.StatusCode == HttpStatusCode.Forbidden));
        Assert.Equal(3, _proxy.Upstream.Received.Count);
        foreach (var r in responses)
        {
            r.Dispose();
        }
    }

    [Fact]
    public async Task Every_forwarded_and_refused_request_is_audited_without_header_values()
    {
        var token = await _proxy.TokenAsync();
        using (await _proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/7", token))
        using (await _proxy.SendAsync(HttpMethod.Delete, "/proxy/crm/contacts/7", token))
        {
        }

        var events = await _proxy.Broker.AuditEventsAsync();
        var forwarded = Assert.Single(events, e => e.Record.Type == AuditTypes.ProxyForwarded);
        Assert.Equal(AuditOutcomes.Allowed, forwarded.Record.Outcome);
        Assert.Equal("crm", forwarded.Record.Tool);
        Assert.Equal("GET", forwarded.Record.Method);
        Assert.Equal("/contacts/7", forwarded.Record.Path);
        Assert.Equal("GET /contacts/**", forwarded.Record.Rule);
        Assert.Equal("support-agent", forwarded.Record.Agent);
        Assert.NotNull(forwarded.Record.Jti);
        var completed = Assert.Single(events, e => e.Record.Type == AuditTypes.ProxyCompleted);
        Assert.Equal(200, completed.Record.Status);
        Assert.NotNull(completed.Record.LatencyMs);
        var denied = Assert.Single(events, e => e.Record.Type == AuditTypes.ProxyDenied);
        Assert.Equal(AuditOutcomes.Denied, denied.Record.Outcome);
        Assert.Equal("DELETE", denied.Record.Method);
        Assert.Equal(403, denied.Record.Status);
        Assert.Contains("no rule", denied.Record.Reason, StringComparison.Ordinal);
        var all = string.Join("\n", events.Select(e => Encoding.UTF8.GetString(e.Json)));
        Assert.DoesNotContain(ProxyBroker.CrmKey, all, StringComparison.Ordinal);
        Assert.DoesNotContain(token, all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forwarded_request_is_on_record_before_the_upstream_sees_it_and_its_outcome_follows_with_the_same_ids()
    {
        var token = await _proxy.TokenAsync();
        IReadOnlyList<AuditEvent>? durableWhenReceived = null;
        _proxy.Upstream.Handler = async context =>
        {
            // What is on disk at the moment the upstream acts (no flush of our own).
            durableWhenReceived = await _proxy.Broker.Store.Audit.QueryAsync(new AuditQuery { Limit = 100_000 }, CancellationToken.None);
            context.Response.StatusCode = 201;
        };

        using var response = await _proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/7", token);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var before = Assert.Single(durableWhenReceived!, e => e.Record.Type == AuditTypes.ProxyForwarded);
        Assert.Equal("/contacts/7", before.Record.Path);
        Assert.Null(before.Record.Status);
        Assert.DoesNotContain(durableWhenReceived!, e => e.Record.Type == AuditTypes.ProxyCompleted);

        var events = await _proxy.Broker.AuditEventsAsync();
        var forwarded = Assert.Single(events, e => e.Record.Type == AuditTypes.ProxyForwarded);
        var completed = Assert.Single(events, e => e.Record.Type == AuditTypes.ProxyCompleted);
        Assert.True(completed.Seq > forwarded.Seq);
        Assert.Equal(AuditOutcomes.Allowed, completed.Record.Outcome);
        Assert.Equal(201, completed.Record.Status);
        Assert.NotNull(completed.Record.LatencyMs);
        Assert.NotNull(forwarded.Record.RequestId);
        Assert.Equal(forwarded.Record.RequestId, completed.Record.RequestId);
        Assert.Equal(forwarded.Record.Jti, completed.Record.Jti);
        Assert.Equal(("GET", "/contacts/7", "GET /contacts/**"), (completed.Record.Method, completed.Record.Path, completed.Record.Rule));
    }

    [Fact]
    public async Task An_upstream_failure_is_recorded_as_the_outcome_of_the_recorded_request()
    {
        var token = await _proxy.TokenAsync("dead:read");

        using var response = await _proxy.SendAsync(HttpMethod.Get, "/proxy/dead/anything", token);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var events = await _proxy.Broker.AuditEventsAsync();
        var forwarded = Assert.Single(events, e => e.Record.Type == AuditTypes.ProxyForwarded);
        var failed = Assert.Single(events, e => e.Record.Type == AuditTypes.ProxyFailed);
        Assert.Equal(forwarded.Record.RequestId, failed.Record.RequestId);
        Assert.Equal(AuditOutcomes.Error, failed.Record.Outcome);
        Assert.Equal(502, failed.Record.Status);
        Assert.StartsWith("upstream error: ", failed.Record.Reason, StringComparison.Ordinal);
        Assert.Equal(RefusalCodes.ProxyUpstreamFailed, failed.Record.ReasonCode);
    }

    [Fact]
    public async Task While_the_audit_log_cannot_commit_nothing_is_forwarded()
    {
        FlakyStore? flaky = null;
        await using var proxy = await ProxyBroker.StartAsync(wrapStore: s => flaky = new FlakyStore(s));
        var token = await proxy.TokenAsync();
        flaky!.FailAppends = true;

        // The log was healthy: the request's own event is what fails, so the request is not forwarded.
        using (var first = await proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/1", token))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
            Assert.Equal("application/problem+json", first.Content.Headers.ContentType?.MediaType);
        }

        await Assert.ThrowsAsync<Core.Audit.AuditWriteException>(() =>
            proxy.Broker.Service<Core.Audit.AuditLog>().AppendAsync(new Core.Audit.AuditRecord { Type = "test.probe", Outcome = "allowed" }));
        using var refused = await proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/2", token);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Empty(proxy.Upstream.Received);

        // Once the disk recovers, a commit succeeds and the proxy forwards again.
        flaky.FailAppends = false;
        await proxy.Broker.Service<Core.Audit.AuditLog>().AppendAsync(new Core.Audit.AuditRecord { Type = "test.probe", Outcome = "allowed" });
        using var again = await proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/3", token);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task When_the_audit_log_does_not_confirm_in_time_nothing_is_forwarded_and_the_client_gets_503()
    {
        FlakyStore? flaky = null;
        await using var proxy = await ProxyBroker.StartAsync(wrapStore: s => flaky = new FlakyStore(s));
        var token = await proxy.TokenAsync();
        flaky!.HoldAppends();
        try
        {
            // As a database another process holds locked: the commit neither succeeds nor fails.
            var sending = proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/1", token);
            await flaky.Holding;
            proxy.Broker.Time.Advance(Core.Proxy.ProxyAudit.Timeout);
            using var response = await sending;

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("not forwarded", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Empty(proxy.Upstream.Received);
        }
        finally
        {
            flaky.ReleaseAppends();
        }

        // Once the commit went through, the record says the request was never sent.
        var events = await proxy.Broker.AuditEventsAsync();
        var forwarded = Assert.Single(events, e => e.Record.Type == AuditTypes.ProxyForwarded);
        var failed = Assert.Single(events, e => e.Record.Type == AuditTypes.ProxyFailed);
        Assert.Equal(forwarded.Record.RequestId, failed.Record.RequestId);
        Assert.Equal(503, failed.Record.Status);
        Assert.StartsWith("not forwarded: ", failed.Record.Reason, StringComparison.Ordinal);
        Assert.Equal(RefusalCodes.ProxyAuditUnavailable, failed.Record.ReasonCode);
        Assert.Empty(proxy.Upstream.Received);
    }
}
