namespace Tessera.Core.Tests.Approvals;

/// <summary>
/// Creating approvals: the per-agent pending cap and the shortest life an approval may have; and the
/// code of each refused decision. The
/// sweep that moves due approvals to expired runs on a server timer, so here it runs only when a
/// test calls <see cref="ApprovalService.ExpireDueAsync"/>.
/// </summary>
public sealed class ApprovalServiceTests : IAsyncDisposable
{
    private readonly CoreHarness _core = new();
    private readonly TesseraConfig _config = ConfigLoader.Load("""
        identity_providers:
          - { id: corp, issuer: "https://idp.corp.test", jwks_uri: "https://idp.corp.test/jwks", audience: tessera }
        approver_groups:
          - { id: oncall, members: [ { idp: corp, sub: bob } ] }
        tools:
          - id: crm
            scopes:
              export: { rules: [ "POST /exports" ], approval: { group: oncall } }
          - id: warehouse
            protocol: postgres
            connection: { host: db.internal, database: analytics }
            admin_secret: warehouse-admin
            scopes:
              write: { grants: [ "GRANT INSERT ON reporting.orders TO {{role}}" ], approval: { group: oncall } }
        """, "tessera.yaml", Path.GetTempPath());


    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<ApprovalService> StartAsync()
    {
        await _core.StartAsync(_config, initializeKeys: false, Ct);
        return new ApprovalService(new NoApprovalRows(), _core.Log, _core.Keys, new RevocationIndex(), NoApprovalNotifier.Instance, LiveConfig.Of(_config, _core.Time), _core.Time);
    }

    /// <summary>What the token endpoint hands over for an exchange whose subject token ends at <paramref name="notAfter"/>.</summary>
    private ApprovalDraft Draft(DateTimeOffset? notAfter) => new()
    {
        ClientId = "support-agent",
        Principal = "alice",
        Idp = "corp",
        ActorChain = ["support-agent"],
        Tool = new ToolCatalog(_config.Tools).FindById("crm")!,
        Scopes = ScopeSet.Of(["crm:export"]),
        Gated = ScopeSet.Of(["crm:export"]),
        TokenLifetime = TimeSpan.FromMinutes(5),
        NotAfter = notAfter,
    };

    private ApprovalDraft DatabaseDraft() => Draft(null) with
    {
        Tool = new ToolCatalog(_config.Tools).FindById("warehouse")!,
        Scopes = ScopeSet.Of(["warehouse:write"]),
        Gated = ScopeSet.Of(["warehouse:write"]),
    };

    private static TokenRequest Request(Dictionary<string, string>? form = null) =>
        new(form ?? new Dictionary<string, string>(), [], [], new ClientAuthenticationAttempt(ClientAuthMethods.ClientSecretBasic, "support-agent", "s", null), "req-1");

    private int Requested() => _core.AuditStore.Events.Count(e => e.Record.Type == AuditTypes.ApprovalRequested);

    [Theory]
    [InlineData(-60)]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(59)]
    public async Task A_request_whose_subject_token_ends_within_a_minute_is_refused_and_creates_no_approval(int secondsLeft)
    {
        var approvals = await StartAsync();

        var (error, created) = await approvals.RequestAsync(Draft(_core.Time.GetUtcNow().AddSeconds(secondsLeft)), Request(), Ct);

        Assert.False(created);
        Assert.Equal(OAuthErrorCodes.InvalidRequest, error.Code);
        Assert.Contains("subject_token", error.Description, StringComparison.Ordinal);
        Assert.Equal(0, Requested());
        Assert.Empty(approvals.List(null, new Approver("carol", null, null), isAdmin: true));
    }

    [Fact]
    public async Task A_subject_token_with_exactly_a_minute_left_still_becomes_an_approval_that_ends_with_it()
    {
        var approvals = await StartAsync();
        var notAfter = _core.Time.GetUtcNow().AddMinutes(1);

        var (error, created) = await approvals.RequestAsync(Draft(notAfter), Request(), Ct);

        Assert.True(created, error.Description);
        Assert.Equal(OAuthErrorCodes.ApprovalRequired, error.Code);
        Assert.Equal(notAfter, Assert.Single(approvals.List(null, new Approver("carol", null, null), isAdmin: true)).ExpiresAt);
    }

    [Fact]
    public async Task Every_pending_approval_counts_against_the_cap_even_past_its_expiry_until_the_sweep_ends_it()
    {
        var approvals = await StartAsync();
        for (var i = 0; i < ApprovalService.MaxPendingPerAgent; i++)
        {
            var (error, created) = await approvals.RequestAsync(Draft(_core.Time.GetUtcNow().AddSeconds(61)), Request(), Ct);
            Assert.True(created, error.Description);
        }

        // Past their expiry; nothing has moved them to expired yet.
        _core.Time.Advance(TimeSpan.FromMinutes(2));
        var (refusal, tooMany) = await approvals.RequestAsync(Draft(null), Request(), Ct);

        Assert.False(tooMany);
        Assert.Equal(OAuthErrorCodes.InvalidRequest, refusal.Code);
        Assert.Contains($"{ApprovalService.MaxPendingPerAgent} requests waiting", refusal.Description, StringComparison.Ordinal);
        Assert.Equal(ApprovalService.MaxPendingPerAgent, Requested());

        // The sweep ends them (on record); then the agent may ask again.
        await approvals.ExpireDueAsync(Ct);
        var (_, createdAfterSweep) = await approvals.RequestAsync(Draft(null), Request(), Ct);

        Assert.True(createdAfterSweep);
        Assert.Equal(ApprovalService.MaxPendingPerAgent, _core.AuditStore.Events.Count(e => e.Record.Type == AuditTypes.ApprovalExpired));
    }

    [Fact]
    public async Task The_cap_is_per_agent()
    {
        var approvals = await StartAsync();
        for (var i = 0; i < ApprovalService.MaxPendingPerAgent; i++)
        {
            Assert.True((await approvals.RequestAsync(Draft(null), Request(), Ct)).Created);
        }

        Assert.False((await approvals.RequestAsync(Draft(null), Request(), Ct)).Created);
        Assert.True((await approvals.RequestAsync(Draft(null) with { ClientId = "other-agent" }, Request(), Ct)).Created);
    }

    [Fact]
    public async Task Each_refused_decision_names_its_rule_and_is_on_record_with_it_unless_nothing_was_found()
    {
        var approvals = await StartAsync();
        Assert.True((await approvals.RequestAsync(Draft(null), Request(), Ct)).Created);
        var id = Assert.Single(approvals.List(null, new Approver("carol", null, null), isAdmin: true)).Id;
        var bob = new Approver("corp:bob", "corp", "bob");

        var refusals = new[]
        {
            await approvals.DecideAsync(id, approve: true, new Approver("corp:alice", "corp", "alice"), null, "req-2", Ct),
            await approvals.DecideAsync(id, approve: true, new Approver("corp:support-agent", "corp", "support-agent"), null, "req-3", Ct),
            await approvals.DecideAsync(id, approve: true, new Approver("corp:frank", "corp", "frank"), null, "req-4", Ct),
        };
        Assert.Equal(ApprovalDecisionOutcome.Decided, (await approvals.DecideAsync(id, approve: false, bob, null, "req-5", Ct)).Outcome);
        var again = await approvals.DecideAsync(id, approve: true, bob, null, "req-6", Ct);
        var unknown = await approvals.DecideAsync("nope", approve: true, bob, null, "req-7", Ct);
        var revoke = await approvals.RevokeAsync(id, "carol", "req-8", Ct);

        string?[] codes = [RefusalCodes.ApprovalSelfApproval, RefusalCodes.ApprovalApproverInChain, RefusalCodes.ApprovalNotAMember, RefusalCodes.ApprovalAlreadyDecided];
        Assert.Equal(codes, refusals.Select(r => r.Code).Append(again.Code));
        Assert.All([.. refusals, again], r => Assert.True(r.Audited));
        Assert.Equal(codes, _core.AuditStore.Events.Where(e => e.Record.Type == AuditTypes.AdminDenied).Select(e => e.Record.ReasonCode));

        // Refusals Core does not record: the admin API records them, with the code.
        Assert.Equal((ApprovalDecisionOutcome.NotFound, RefusalCodes.ApprovalNotFound, false), (unknown.Outcome, unknown.Code, unknown.Audited));
        Assert.Equal((ApprovalDecisionOutcome.AlreadyDecided, RefusalCodes.ApprovalNothingToRevoke, false), (revoke.Outcome, revoke.Code, revoke.Audited));
    }

    [Fact]
    public async Task Authorization_details_for_a_database_tool_are_refused_and_create_no_approval()
    {
        var approvals = await StartAsync();
        var details = """[{"type":"tessera_request","tool":"warehouse","method":"POST","path":"/orders"}]""";

        var (error, created) = await approvals.RequestAsync(DatabaseDraft(), Request(new() { ["authorization_details"] = details }), Ct);

        Assert.False(created);
        Assert.Equal(OAuthErrorCodes.InvalidAuthorizationDetails, error.Code);
        Assert.Contains("tool 'warehouse' is a database", error.Description, StringComparison.Ordinal);
        Assert.Equal(0, Requested());
    }

    [Fact]
    public async Task A_gated_scope_of_a_database_tool_is_approved_by_scope()
    {
        var approvals = await StartAsync();

        var (_, created) = await approvals.RequestAsync(DatabaseDraft(), Request(), Ct);

        Assert.True(created);
        Assert.Equal(1, Requested());
    }

    public ValueTask DisposeAsync() => _core.DisposeAsync();

    /// <summary>Approvals live in memory and in the audit store's state changes here; nothing is loaded.</summary>
    private sealed class NoApprovalRows : IApprovalStore
    {
        public Task<IReadOnlyList<ApprovalRequest>> LoadAsync(DateTimeOffset since, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<ApprovalRequest>>([]);

        public Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken) => Task.FromResult(0);
    }
}
