using Microsoft.Extensions.DependencyInjection;
using Tessera.Client.Tests.Infrastructure;

namespace Tessera.Client.Tests;

/// <summary>
/// Waiting for a person: the agent polls the in-process broker on its fake clock (stepped to the poll's
/// timer, never slept), while an approver decides through the admin API.
/// </summary>
public sealed class ApprovalRequestTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static AgentHost SupportAgent(TestBroker broker, Action<IServiceCollection, Func<HttpMessageHandler>>? more = null) =>
        AgentHost.Create(broker, o => { o.AgentId = ApprovalBroker.Agent; o.UseClientSecret(ApprovalBroker.Secret); }, more);

    private static async Task<ApprovalRequest> AskForExportAsync(AgentHost host)
    {
        var pending = await Assert.ThrowsAsync<TesseraApprovalRequiredException>(async () => await host.Agent.GetTokenAsync("crm", ["crm:export"], Ct));
        return pending.Approval;
    }

    /// <summary>Moves the broker's clock to each poll the agent arms (its interval) until <paramref name="wait"/> completes.</summary>
    private static Task<ApprovalOutcome> StepPollsAsync(TestBroker broker, Task<ApprovalOutcome> wait) =>
        ((TestClock)broker.Time).StepUntilAsync(wait, due => due == ApprovalBroker.Interval, Patience);

    [Fact]
    public async Task An_approval_decided_while_the_agent_waits_yields_the_token_and_caches_it_for_the_next_call()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _broker = broker;
        await using var host = SupportAgent(broker);
        var approval = await AskForExportAsync(host);
        Assert.Equal(broker.Time.GetUtcNow() + approval.ExpiresIn, approval.ExpiresAt);

        var wait = approval.WaitAsync(Ct);
        await broker.ApproveAsync(idp, approval.AuthReqId);
        var outcome = await StepPollsAsync(broker, wait);

        Assert.Equal(ApprovalStatus.Approved, outcome.Status);
        Assert.True(outcome.IsApproved);
        Assert.Null(outcome.ErrorDescription);
        Assert.Contains("crm:export", outcome.Token!.Scope.Split(' '));
        var requests = host.TokenRequests;
        Assert.Same(outcome.Token, await host.Agent.GetTokenAsync("crm", ["crm:export"], Ct));
        Assert.Equal(requests, host.TokenRequests);

        // Decided once: waiting again answers the same outcome without asking Tessera.
        Assert.Same(outcome, await approval.WaitAsync(Ct));
        Assert.Equal(requests, host.TokenRequests);
    }

    [Fact]
    public async Task A_denied_approval_ends_as_denied_with_the_servers_words()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _broker = broker;
        await using var host = SupportAgent(broker);
        var approval = await AskForExportAsync(host);

        var wait = approval.WaitAsync(Ct);
        using (var denied = await broker.DecideAsync(approval.AuthReqId, "deny", idp.As(broker, "bob"), "not today"))
        {
            Assert.Equal(HttpStatusCode.OK, denied.StatusCode);
        }

        var outcome = await StepPollsAsync(broker, wait);

        Assert.Equal(ApprovalStatus.Denied, outcome.Status);
        Assert.Null(outcome.Token);
        Assert.Contains("bob", outcome.ErrorDescription, StringComparison.Ordinal);
        await Assert.ThrowsAsync<TesseraApprovalRequiredException>(async () => await host.Agent.GetTokenAsync("crm", ["crm:export"], Ct));
    }

    [Fact]
    public async Task An_approval_nobody_decides_ends_as_expired_once_it_lapses()
    {
        var (broker, _) = await ApprovalBroker.StartAsync();
        await using var _broker = broker;
        await using var host = SupportAgent(broker);
        var approval = await AskForExportAsync(host);

        var outcome = await StepPollsAsync(broker, approval.WaitAsync(Ct));

        Assert.Equal(ApprovalStatus.Expired, outcome.Status);
        Assert.Null(outcome.Token);
        Assert.NotNull(outcome.ErrorDescription);
        Assert.True(broker.Time.GetUtcNow() >= approval.ExpiresAt);
        // Polled at the interval all along: ten minutes of five-second polls, none refused as too fast.
        Assert.Equal(ApprovalBroker.Interval, approval.Interval);
        Assert.InRange(host.TokenRequests, 1 + (int)(approval.ExpiresIn / approval.Interval), 2 + (int)(approval.ExpiresIn / approval.Interval));
    }

    [Fact]
    public async Task A_cancelled_wait_throws_and_a_later_wait_still_gets_the_decision()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _broker = broker;
        await using var host = SupportAgent(broker);
        var approval = await AskForExportAsync(host);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var wait = approval.WaitAsync(cancel.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
        Assert.Equal(1, host.TokenRequests);

        await broker.ApproveAsync(idp, approval.AuthReqId);
        var outcome = await StepPollsAsync(broker, approval.WaitAsync(Ct));
        Assert.Equal(ApprovalStatus.Approved, outcome.Status);
    }

    [Fact]
    public async Task A_slow_down_from_the_server_lengthens_the_interval_to_the_servers()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _broker = broker;
        var answers = new AnswerLog(broker.Time);

        // The agent is told a 1 s interval instead of the server's 5 s, so its first poll comes too soon.
        await using var host = SupportAgent(broker, (services, _) =>
            services.AddHttpClient(TesseraAgentOptions.HttpClientName).AddHttpMessageHandler(() => new ShortIntervalHandler(answers, "\"interval\":1")));
        var approval = await AskForExportAsync(host);
        Assert.Equal(TimeSpan.FromSeconds(1), approval.Interval);
        var asked = broker.Time.GetUtcNow();

        var wait = approval.WaitAsync(Ct);
        await ((TestClock)broker.Time).StepUntilAsync(answers.Pending.Task, due => due == TimeSpan.FromSeconds(1) || due == TimeSpan.FromSeconds(10), Patience);
        await broker.ApproveAsync(idp, approval.AuthReqId);
        var outcome = await ((TestClock)broker.Time).StepUntilAsync(wait, due => due == TimeSpan.FromSeconds(10), Patience);

        Assert.Equal(ApprovalStatus.Approved, outcome.Status);
        Assert.Equal(TimeSpan.FromSeconds(10), approval.Interval);
        Assert.Equal(
            [("slow_down", TimeSpan.FromSeconds(1)), ("authorization_pending", TimeSpan.FromSeconds(11)), ("", TimeSpan.FromSeconds(21))],
            answers.Polls.Select(p => (p.Error, p.At - asked)));
    }

    [Theory]
    [InlineData("\"interval\":0")]
    [InlineData("\"interval\":-3")]
    [InlineData("\"interval_was\":5")]
    public async Task An_interval_that_is_missing_or_below_a_second_is_taken_as_five_seconds_not_a_tight_loop(string interval)
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _broker = broker;
        var answers = new AnswerLog(broker.Time);
        await using var host = SupportAgent(broker, (services, _) =>
            services.AddHttpClient(TesseraAgentOptions.HttpClientName).AddHttpMessageHandler(() => new ShortIntervalHandler(answers, interval)));
        var approval = await AskForExportAsync(host);
        var asked = broker.Time.GetUtcNow();
        await broker.ApproveAsync(idp, approval.AuthReqId);

        var outcome = await StepPollsAsync(broker, approval.WaitAsync(Ct));

        Assert.Equal(ApprovalStatus.Approved, outcome.Status);
        Assert.Equal(ApprovalBroker.Interval, approval.Interval);
        Assert.Equal([("", ApprovalBroker.Interval)], answers.Polls.Select(p => (p.Error, p.At - asked)));
    }

    [Fact]
    public async Task An_exact_request_approval_lets_exactly_that_request_through_the_proxy_once()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, idp) = await ApprovalProxyBroker.StartAsync(upstream);
        await using var _broker = broker;
        await using var host = AgentHost.Create(broker, o => { o.AgentId = "support-agent"; o.UseClientSecret(TestBroker.SupportSecret); }, (services, primary) =>
            services.AddHttpClient("billing", c => c.BaseAddress = new Uri(TestBroker.Issuer + "/proxy/billing/"))
                .ConfigurePrimaryHttpMessageHandler(primary).AddTesseraToken("billing", "change"));
        var billing = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient("billing");
        const string Body = """{"plan":"annual"}""";

        var approval = await host.Agent.RequestApprovalAsync("billing", ["billing:change"], TesseraExactRequest.Http(HttpMethod.Put, "/billing/4711", Body),
            "customer moved to annual billing", Ct);
        var listed = await broker.ListApprovalsAsync(idp.As(broker, "bob"));
        var detail = Assert.Single(listed.EnumerateArray()).GetProperty("authorization_details")[0];
        Assert.Equal("tessera_request", detail.GetProperty("type").GetString());
        Assert.Equal(ExactRequest.BodySha256(Encoding.UTF8.GetBytes(Body)), detail.GetProperty("body_sha256").GetString());

        var wait = approval.WaitAsync(Ct);
        await broker.ApproveAsync(idp, approval.AuthReqId);
        var outcome = await ((TestClock)broker.Time).StepUntilAsync(wait, due => due == approval.Interval, Patience);
        Assert.Equal(ApprovalStatus.Approved, outcome.Status);

        using (var other = await billing.PutAsync("billing/4711", new StringContent("""{"plan":"monthly"}""", Encoding.UTF8, "application/json"), Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        }

        using (var exact = await billing.PutAsync("billing/4711", new StringContent(Body, Encoding.UTF8, "application/json"), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, exact.StatusCode);
        }

        using (var again = await billing.PutAsync("billing/4711", new StringContent(Body, Encoding.UTF8, "application/json"), Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
        }

        Assert.Equal(Body, Encoding.UTF8.GetString(Assert.Single(upstream.Received).Body));
    }

    [Fact]
    public async Task A_call_through_the_handler_surfaces_the_approval_and_once_approved_its_retry_sends_the_approved_token()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, idp) = await ApprovalProxyBroker.StartAsync(upstream);
        await using var _broker = broker;
        await using var host = AgentHost.Create(broker, o => { o.AgentId = "support-agent"; o.UseClientSecret(TestBroker.SupportSecret); }, (services, primary) =>
            services.AddHttpClient("billing", c => c.BaseAddress = new Uri(TestBroker.Issuer + "/proxy/billing/"))
                .ConfigurePrimaryHttpMessageHandler(primary).AddTesseraToken("billing", "change"));
        var billing = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient("billing");

        var pending = await Assert.ThrowsAsync<TesseraApprovalRequiredException>(() =>
            billing.PutAsync("billing/4711", new StringContent("{}", Encoding.UTF8, "application/json"), Ct));
        Assert.Empty(upstream.Received);
        var wait = pending.Approval.WaitAsync(Ct);
        await broker.ApproveAsync(idp, pending.Approval.AuthReqId);
        Assert.True((await ((TestClock)broker.Time).StepUntilAsync(wait, due => due == pending.Approval.Interval, Patience)).IsApproved);

        using var retried = await billing.PutAsync("billing/4711", new StringContent("{}", Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Single(upstream.Received);
        Assert.Equal(2, host.TokenRequests); // the request that opened the approval, and the poll that redeemed it
    }

    [Fact]
    public async Task An_exact_request_no_requested_scope_allows_is_refused_at_asking()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, _) = await ApprovalProxyBroker.StartAsync(upstream);
        await using var _broker = broker;
        await using var host = AgentHost.Create(broker, o => { o.AgentId = "support-agent"; o.UseClientSecret(TestBroker.SupportSecret); });

        var refused = await Assert.ThrowsAsync<TesseraTokenException>(() =>
            host.Agent.RequestApprovalAsync("billing", ["billing:change"], TesseraExactRequest.Http(HttpMethod.Delete, "/billing/4711", ""), null, Ct));

        Assert.Equal("invalid_authorization_details", refused.Error);
    }

    [Fact]
    public async Task An_exact_mcp_call_approval_shows_the_arguments_to_the_approver_and_binds_their_hash_in_the_token()
    {
        var idp = new TestIdp();
        var yaml = $$"""
            server: { listen: "{{TestBroker.Issuer}}" }
            tokens: { default_ttl: 5m, max_ttl: 1h }
            {{TestIdp.Yaml}}
            approver_groups:
              - { id: security-oncall, members: [ { idp: corp, sub: bob } ] }
            tools:
              - id: issues
                protocol: mcp
                upstream: http://127.0.0.1:9/mcp
                scopes:
                  admin: { rules: [ "MCP tools/call delete_*" ], approval: { group: security-oncall, ttl: 2m, max_uses: 1 } }
            agents:
              - id: support-agent
                owner: support-platform@corp.example
                purpose: Answer customer tickets
                expires: 2027-06-30
                auth: { client_secret_sha256: {{TestBroker.Sha256Hex(TestBroker.SupportSecret)}} }
                allowed_scopes: [ "issues:admin" ]
            """;
        await using var broker = await TestBroker.StartAsync(yaml, idp.NewBrokerDirectory());
        await using var host = AgentHost.Create(broker, o => { o.AgentId = "support-agent"; o.UseClientSecret(TestBroker.SupportSecret); });
        using var arguments = JsonDocument.Parse("""{ "repo": "widgets", "number": 7 }""");
        var hash = ExactRequest.McpArgumentsSha256(arguments.RootElement);

        var approval = await host.Agent.RequestApprovalAsync("issues", ["admin"], TesseraExactRequest.McpCall("delete_issue", arguments.RootElement), "issue 7 is a duplicate", Ct);
        var listed = Assert.Single((await broker.ListApprovalsAsync(idp.As(broker, "bob"))).EnumerateArray());
        Assert.Contains("""{"number":7,"repo":"widgets"}""", listed.GetRawText(), StringComparison.Ordinal);
        var wait = approval.WaitAsync(Ct);
        await broker.ApproveAsync(idp, approval.AuthReqId);
        var outcome = await ((TestClock)broker.Time).StepUntilAsync(wait, due => due == approval.Interval, Patience);

        Assert.Equal(ApprovalStatus.Approved, outcome.Status);
        using var payload = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(outcome.Token!.AccessToken.Split('.')[1]));
        var detail = Assert.Single(payload.RootElement.GetProperty("authorization_details").EnumerateArray());
        Assert.Equal("tessera_mcp_call", detail.GetProperty("type").GetString());
        Assert.Equal("delete_issue", detail.GetProperty("name").GetString());
        Assert.Equal(hash, detail.GetProperty("arguments_sha256").GetString());
        Assert.False(detail.TryGetProperty("arguments", out _));
    }

    /// <summary>The token endpoint's answers to CIBA polls, with the agent's clock time of each.</summary>
    private sealed class AnswerLog(TimeProvider time)
    {
        public List<(string Error, DateTimeOffset At)> Polls { get; } = [];

        public TaskCompletionSource<bool> Pending { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Add(string error)
        {
            lock (Polls)
            {
                Polls.Add((error, time.GetUtcNow()));
            }

            if (error == "authorization_pending")
            {
                Pending.TrySetResult(true);
            }
        }
    }

    /// <summary>Rewrites the approval_required answer's interval (to <paramref name="interval"/>) and logs every poll's answer.</summary>
    private sealed class ShortIntervalHandler(AnswerLog log, string interval) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var form = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
            var response = await base.SendAsync(request, cancellationToken);
            if (request.RequestUri!.AbsolutePath != "/oauth/token")
            {
                return response;
            }

            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            using var json = JsonDocument.Parse(body);
            var error = json.RootElement.TryGetProperty("error", out var e) ? e.GetString()! : "";
            if (form.Contains("grant-type%3Aciba", StringComparison.Ordinal))
            {
                log.Add(error);
            }
            else if (error == "approval_required")
            {
                body = body.Replace("\"interval\":5", interval, StringComparison.Ordinal);
            }

            var rewritten = new HttpResponseMessage(response.StatusCode) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            response.Dispose();
            return rewritten;
        }
    }
}
