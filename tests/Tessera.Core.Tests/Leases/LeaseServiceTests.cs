using Tessera.Core.Dpop;
using Tessera.Core.Leases;
using Tessera.Core.Tests.Dpop;
using Tessera.Core.Tests.Proxy;
using Tessera.Core.Tests.Revocation;
using Tessera.Core.Tests.Vault;

namespace Tessera.Core.Tests.Leases;

/// <summary>
/// The life of a lease without a database: what is checked before one is issued, that it is on
/// record before its credential exists, and how it ends (revocation, expiry, an agent gone, a
/// process that stopped), with retries, force and several nodes. The provider is scripted; real
/// PostgreSQL is tested with the provider itself.
/// </summary>
public sealed class LeaseServiceTests : IAsyncDisposable
{
    private const string Issuer = "https://tessera.example";
    private const string WarehouseAudience = "urn:tessera:tool:warehouse";
    private const string AdminSecret = "Host=db.internal;Username=tessera_admin;Password=admin-pw-0123456789";
    private const string ReadGrant = "GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO {{role}}";
    private const string WriteGrant1 = "GRANT INSERT ON reporting.orders TO {{role}}";
    private const string WriteGrant2 = "GRANT UPDATE ON reporting.orders TO {{role}};";
    private const string DropGrant = "GRANT DELETE ON reporting.orders TO {{role}}";

    private static string Yaml(string node = "node-a") => $$"""
        server:
          listen: http://127.0.0.1:8080
          issuer: https://tessera.example
          bootstrap_admin_token: false
        cluster: { node_id: {{node}} }
        tokens: { max_ttl: 2h }
        tools:
          - id: warehouse
            protocol: postgres
            connection: { host: db.internal, port: 5432, database: analytics }
            admin_secret: warehouse-admin
            lease_ttl: 10m
            scopes:
              read:  { grants: [ "{{ReadGrant}}" ] }
              write: { grants: [ "{{WriteGrant1}}", "{{WriteGrant2}}" ] }
              drop:  { grants: [ "{{DropGrant}}" ] }
          - id: crm
            upstream: http://127.0.0.1:9102
            credential: { secret: crm-key, header: X-Api-Key }
            scopes:
              read: { rules: [ "GET /contacts/**" ] }
        agents:
          - id: support-agent
            owner: support-platform@corp.example
            purpose: Answer customer tickets
            expires: 2027-06-30
            auth:
              client_secret_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
            allowed_scopes: [ "warehouse:read", "warehouse:write", "warehouse:drop", "crm:read" ]
          - id: helper-agent
            owner: support-platform@corp.example
            purpose: Help
            expires: 2027-06-30
            auth:
              client_secret_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
            allowed_scopes: [ "warehouse:read" ]
        """;

    private readonly CoreHarness _core = new();
    private readonly MemoryTokenUseStore _uses = new();
    private readonly DpopKey _dpopKey = DpopKey.CreateEc();
    private readonly TesseraConfig _config = ConfigLoader.Load(Yaml(), "tessera.yaml", Path.GetTempPath());
    private readonly RevocationIndex _revocations = new();
    private readonly ScriptedCredentialProvider _provider = new();
    private readonly MemoryLeaseStore _store;
    private SecretVault _vault = null!;

    public LeaseServiceTests() => _store = new MemoryLeaseStore(_core.AuditStore);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask DisposeAsync()
    {
        _dpopKey.Dispose();
        await _core.DisposeAsync();
    }

    private async Task<LeaseService> StartAsync(bool withAdminSecret = true)
    {
        await _core.StartAsync(_config, initializeKeys: true, Ct);
        _vault = new SecretVault(new MemorySecretStore(_core.AuditStore), _core.MasterKey, _core.Log, LiveConfig.Of(_config, _core.Time), _core.Time);
        await _vault.LoadAsync(Ct);
        if (withAdminSecret)
        {
            await _vault.PutAsync("warehouse-admin", Encoding.UTF8.GetBytes(AdminSecret), "admin", null, Ct);
        }

        return Service();
    }

    /// <summary>A lease service over the shared store, clock, audit log and revocations: another process or node when built again.</summary>
    private LeaseService Service(TesseraConfig? config = null, IEnumerable<AgentOptions>? agents = null, Tessera.Core.Cluster.ClusterFreshness? freshness = null,
        LiveConfig? running = null)
    {
        config ??= _config;
        var live = running ?? LiveConfig.Of(config with { Agents = [.. agents ?? config.Agents] }, _core.Time);
        var validator = new AccessTokenValidator(_core.Keys, _revocations, LiveConfig.Of(config, _core.Time), _core.Time, freshness);
        var dpop = new DpopProofValidator(new MemoryReplayCache(_core.Time), new DpopNonces(_core.MasterKey, _core.Time), config, _core.Time);
        return new LeaseService(validator, live, _vault, _store, _uses, _core.Log, dpop, _revocations, [_provider],
            _core.Time, NullLogger<LeaseService>.Instance);
    }

    private string Token(string scope = "warehouse:read", string audience = WarehouseAudience, long lifetime = 3600, int? maxUses = null, string? details = null,
        string? jkt = null, string? mission = null, string? principal = null, string client = "support-agent")
    {
        var now = _core.Time.GetUtcNow().ToUnixTimeSeconds();
        return JwtSigner.Sign(_core.Keys.Current(), new AccessTokenClaims
        {
            Issuer = Issuer,
            Subject = principal ?? client,
            Audience = audience,
            ClientId = client,
            ActorChain = principal is null ? [] : [client],
            Scope = ScopeSet.Parse(scope),
            Jti = Guid.NewGuid().ToString("N"),
            IssuedAt = now,
            ExpiresAt = now + lifetime,
            MaxUses = maxUses,
            AuthorizationDetails = details,
            Jkt = jkt,
            Mission = mission,
        });
    }

    private static string JtiOf(string token) =>
        JsonDocument.Parse(Base64UrlDecode(token.Split('.')[1])).RootElement.GetProperty("jti").GetString()!;

    private static byte[] Base64UrlDecode(string text) =>
        Convert.FromBase64String(text.Replace('-', '+').Replace('_', '/') + new string('=', (4 - text.Length % 4) % 4));

    private static FakeProxyRequest Post(string? token, string tool = "warehouse") =>
        token is null ? new FakeProxyRequest("POST", LeaseService.Prefix + tool) : new FakeProxyRequest("POST", LeaseService.Prefix + tool).With("Authorization", "Bearer " + token);

    private IReadOnlyList<AuditRecord> Events(string type) => [.. _core.AuditStore.Events.Where(e => e.Record.Type == type).Select(e => e.Record)];

    private static Lease Issued(LeaseVerdict verdict)
    {
        Assert.Null(verdict.Refusal);
        Assert.NotNull(verdict.Credential);
        return Assert.IsType<Lease>(verdict.Lease);
    }

    private async Task<Lease> IssueAsync(LeaseService leases, string? token = null) => Issued(await leases.IssueAsync(Post(token ?? Token()), "warehouse"));

    /// <summary>The refusal has its status and code, is on record as lease.denied with them, and no credential was made.</summary>
    private AuditRecord AssertRefused(LeaseVerdict verdict, int status, string code)
    {
        Assert.Null(verdict.Lease);
        Assert.Null(verdict.Credential);
        var refusal = Assert.IsType<ProxyRefusal>(verdict.Refusal);
        Assert.Equal((status, code), (refusal.Status, refusal.Code));
        var denied = Events(AuditTypes.LeaseDenied)[^1];
        Assert.Equal((status, code, refusal.AuditReason, "req-1"), (denied.Status, denied.ReasonCode, denied.Reason, denied.RequestId));
        Assert.Empty(Events(AuditTypes.LeaseIssued));
        return denied;
    }

    // ---- Issue ----

    [Fact]
    public async Task A_valid_token_gets_a_lease_named_by_its_role_holding_the_grants_of_exactly_its_scopes_of_the_tool()
    {
        var leases = await StartAsync();
        var now = _core.Time.GetUtcNow();

        var verdict = await leases.IssueAsync(Post(Token("warehouse:write crm:read warehouse:drop")), "warehouse");

        var lease = Issued(verdict);
        Assert.Equal(LeaseStatus.Active, lease.Status);
        Assert.True(LeaseNames.IsLeaseId(lease.Id));
        Assert.Equal(LeaseNames.RoleOf(lease.Id), lease.Username);
        Assert.Equal(lease.Username, verdict.Credential!.Username);
        Assert.Equal(["warehouse:drop", "warehouse:write"], lease.Scopes.Order(StringComparer.Ordinal));
        Assert.Equal(now + TimeSpan.FromMinutes(10), lease.ExpiresAt);
        var request = Assert.Single(_provider.Issues);
        Assert.Equal((lease.Id, lease.Username, "warehouse", lease.ExpiresAt, AdminSecret), (request.LeaseId, request.Username, request.Tool.Id, request.ExpiresAt, request.AdminSecret));
        Assert.Equal([DropGrant, WriteGrant1, WriteGrant2], request.Grants.Order(StringComparer.Ordinal));
        Assert.Equal(LeaseStatus.Active, _store[lease.Id]!.Status);
    }

    [Fact]
    public async Task A_lease_never_outlives_its_token()
    {
        var leases = await StartAsync();
        var token = Token(lifetime: 300);
        var tokenEnd = _core.Time.GetUtcNow() + TimeSpan.FromSeconds(300);

        var lease = await IssueAsync(leases, token);

        Assert.Equal(tokenEnd, lease.ExpiresAt);
        Assert.Equal(tokenEnd, Assert.Single(_provider.Issues).ExpiresAt);
    }

    [Fact]
    public async Task The_lease_is_on_record_as_issuing_before_the_provider_makes_its_credential()
    {
        var leases = await StartAsync();
        Lease? recorded = null;
        var issuedBefore = -1;
        _provider.OnIssue = async request =>
        {
            recorded = await _store.FindAsync(request.LeaseId, Ct);
            issuedBefore = Events(AuditTypes.LeaseIssued).Count;
        };

        var lease = await IssueAsync(leases);

        Assert.NotNull(recorded);
        Assert.Equal((lease.Id, LeaseStatus.Issuing, lease.Username, "node-a"), (recorded.Id, recorded.Status, recorded.Username, recorded.Node));
        Assert.Equal(0, issuedBefore);
        Assert.Single(Events(AuditTypes.LeaseIssued));
    }

    [Fact]
    public async Task Lease_issued_names_the_lease_role_tool_scopes_agent_mission_and_principal_and_nothing_holds_the_password()
    {
        var leases = await StartAsync();

        var verdict = await leases.IssueAsync(Post(Token("warehouse:read", mission: "mis_0123", principal: "alice")), "warehouse");

        var lease = Issued(verdict);
        var issued = Assert.Single(Events(AuditTypes.LeaseIssued));
        Assert.Equal(AuditOutcomes.Allowed, issued.Outcome);
        Assert.Equal((lease.Id, lease.Username, "warehouse"), (issued.Lease, issued.Role, issued.Tool));
        Assert.Equal(["warehouse:read"], issued.Scopes);
        Assert.Equal(("support-agent", "mis_0123", "alice"), (issued.Agent, issued.Mission, issued.Principal));
        Assert.Equal(lease.Jti, issued.Jti);
        Assert.Equal("req-1", issued.RequestId);

        // Ended too, so every event of its life is scanned.
        await leases.RevokeAsync(lease.Id, "admin", force: false, null, Ct);
        var password = verdict.Credential!.Password;
        Assert.Equal(password, Assert.Single(_provider.Passwords));
        Assert.DoesNotContain(verdict.Credential.ToString(), password, StringComparison.Ordinal);
        Assert.All(_core.AuditStore.Events, e =>
        {
            var json = Encoding.UTF8.GetString(e.Json);
            Assert.DoesNotContain(password, json, StringComparison.Ordinal);
            Assert.DoesNotContain("admin-pw-0123456789", json, StringComparison.Ordinal);
        });
    }

    // ---- Refusals ----

    [Fact]
    public async Task A_request_without_a_token_is_401_offering_both_schemes()
    {
        var leases = await StartAsync();

        var verdict = await leases.IssueAsync(Post(null), "warehouse");

        var denied = AssertRefused(verdict, 401, RefusalCodes.ProxyTokenMissing);
        Assert.Equal(["Bearer realm=\"tessera\"", "DPoP realm=\"tessera\""], verdict.Refusal!.Challenges!);
        Assert.Null(denied.Agent);
        Assert.Equal(0, _store.Opened);
        Assert.Empty(_provider.Issues);
    }

    [Fact]
    public async Task A_node_not_current_with_its_cluster_hands_out_nothing()
    {
        await StartAsync();
        var stale = new Tessera.Core.Cluster.ClusterFreshness(_core.Time, TimeSpan.FromSeconds(5), shared: true);

        AssertRefused(await Service(freshness: stale).IssueAsync(Post(Token()), "warehouse"), 503, RefusalCodes.ClusterStale);
        Assert.Equal(0, _store.Opened);
    }

    [Fact]
    public async Task Two_authorization_headers_are_400()
    {
        var leases = await StartAsync();

        var verdict = await leases.IssueAsync(new FakeProxyRequest("POST", "/credentials/warehouse").With("Authorization", "Bearer " + Token(), "Bearer " + Token()), "warehouse");

        AssertRefused(verdict, 400, RefusalCodes.ProxySeveralAuthorizationHeaders);
    }

    [Fact]
    public async Task An_expired_token_is_401()
    {
        var leases = await StartAsync();
        var token = Token(lifetime: 60);
        _core.Time.Advance(TimeSpan.FromSeconds(60));

        Assert.Equal("support-agent", AssertRefused(await leases.IssueAsync(Post(token), "warehouse"), 401, RefusalCodes.ProxyTokenExpired).Agent);
    }

    [Fact]
    public async Task A_revoked_token_is_401()
    {
        var leases = await StartAsync();
        var token = Token();
        var now = _core.Time.GetUtcNow();
        _revocations.Apply(new RevocationEntry(RevocationKind.Token, JtiOf(token), now, now.AddHours(1)));

        AssertRefused(await leases.IssueAsync(Post(token), "warehouse"), 401, RefusalCodes.ProxyTokenRevoked);
    }

    [Fact]
    public async Task A_forged_token_is_401_and_its_unverified_claims_are_not_recorded()
    {
        var leases = await StartAsync();
        var token = Token();
        var forged = token[..^4] + (token[^4] == 'A' ? "BBBB" : "AAAA");

        Assert.Null(AssertRefused(await leases.IssueAsync(Post(forged), "warehouse"), 401, RefusalCodes.ProxyTokenNotOurs).Agent);
    }

    [Fact]
    public async Task An_unknown_tool_is_404()
    {
        var leases = await StartAsync();

        Assert.Equal("billing", AssertRefused(await leases.IssueAsync(Post(Token(), "billing"), "billing"), 404, RefusalCodes.LeaseToolUnknown).Tool);
    }

    [Fact]
    public async Task An_http_tool_is_400_tool_not_database()
    {
        var leases = await StartAsync();

        AssertRefused(await leases.IssueAsync(Post(Token("crm:read", audience: "urn:tessera:tool:crm"), "crm"), "crm"), 400, RefusalCodes.LeaseToolNotDatabase);
        Assert.Empty(_provider.Issues);
    }

    [Fact]
    public async Task A_token_for_another_tool_is_403_wrong_audience()
    {
        var leases = await StartAsync();

        AssertRefused(await leases.IssueAsync(Post(Token("warehouse:read", audience: "urn:tessera:tool:crm")), "warehouse"), 403, RefusalCodes.ProxyWrongAudience);
    }

    [Fact]
    public async Task A_mission_token_is_403()
    {
        var leases = await StartAsync();

        AssertRefused(await leases.IssueAsync(Post(Token("warehouse:read", audience: Issuer + "/")), "warehouse"), 403, RefusalCodes.ProxyMissionToken);
    }

    [Fact]
    public async Task A_token_without_a_scope_of_the_tool_is_403_no_scope()
    {
        var leases = await StartAsync();

        AssertRefused(await leases.IssueAsync(Post(Token("crm:read")), "warehouse"), 403, RefusalCodes.LeaseNoScope);
        Assert.Equal(0, _store.Opened);
    }

    [Fact]
    public async Task A_token_bound_to_one_exact_request_is_403()
    {
        var leases = await StartAsync();
        var details = """[{"type":"tessera_request","tool":"warehouse","method":"POST","path":"/x"}]""";

        AssertRefused(await leases.IssueAsync(Post(Token(details: details)), "warehouse"), 403, RefusalCodes.LeaseExactRequestToken);
    }

    [Fact]
    public async Task A_dpop_bound_token_sent_as_bearer_is_401()
    {
        var leases = await StartAsync();

        AssertRefused(await leases.IssueAsync(Post(Token(jkt: _dpopKey.Thumbprint())), "warehouse"), 401, RefusalCodes.ProxyDpopBoundAsBearer);
    }

    [Fact]
    public async Task A_dpop_bound_token_with_a_proof_of_its_key_gets_a_lease()
    {
        var leases = await StartAsync();
        var token = Token(jkt: _dpopKey.Thumbprint());
        var request = new FakeProxyRequest("POST", "/credentials/warehouse")
            .With("Authorization", "DPoP " + token)
            .With("DPoP", _dpopKey.Proof("POST", Issuer + "/credentials/warehouse", _core.Time.GetUtcNow(), token));

        Issued(await leases.IssueAsync(request, "warehouse"));
    }

    [Fact]
    public async Task Without_its_admin_secret_in_the_vault_no_lease_is_issued()
    {
        var leases = await StartAsync(withAdminSecret: false);

        AssertRefused(await leases.IssueAsync(Post(Token()), "warehouse"), 424, RefusalCodes.LeaseAdminSecretMissing);
        Assert.Equal(0, _store.Opened);
        Assert.Empty(_provider.Issues);
    }

    [Fact]
    public async Task While_the_audit_log_is_unhealthy_no_lease_is_issued()
    {
        var leases = await StartAsync();
        _core.AuditStore.FailNext = MemoryAuditStore.Failure.BeforeWrite;
        await Assert.ThrowsAsync<AuditWriteException>(() => _core.Log.AppendAsync(new AuditRecord { Type = "test.probe", Outcome = AuditOutcomes.Allowed }, cancellationToken: Ct));

        AssertRefused(await leases.IssueAsync(Post(Token()), "warehouse"), 503, RefusalCodes.LeaseAuditUnhealthy);
        Assert.Empty(_provider.Issues);
    }

    [Fact]
    public async Task A_token_of_max_uses_one_gets_one_lease_then_is_refused()
    {
        var leases = await StartAsync();
        var token = Token(maxUses: 1);

        await IssueAsync(leases, token);
        var second = await leases.IssueAsync(Post(token), "warehouse");

        Assert.Equal((403, RefusalCodes.LeaseUsesSpent), (second.Refusal!.Status, second.Refusal.Code));
        Assert.Equal(RefusalCodes.LeaseUsesSpent, Assert.Single(Events(AuditTypes.LeaseDenied)).ReasonCode);
        Assert.Single(_provider.Issues);
    }

    [Fact]
    public async Task A_lease_that_cannot_be_recorded_is_503_and_no_credential_is_made()
    {
        var leases = await StartAsync();
        _store.FailNextOpen = true;

        AssertRefused(await leases.IssueAsync(Post(Token()), "warehouse"), 503, RefusalCodes.LeaseNotRecorded);
        Assert.Empty(_provider.Issues);
    }

    // ---- Provider failures ----

    [Fact]
    public async Task A_rejected_admin_credential_is_424_and_the_lease_is_closed_with_nothing_to_sweep()
    {
        var leases = await StartAsync();
        _provider.FailIssues(1, CredentialFailure.AdminRejected);

        var denied = AssertRefused(await leases.IssueAsync(Post(Token()), "warehouse"), 424, RefusalCodes.LeaseAdminRejected);

        var lease = Assert.Single(await _store.ListAsync(includeEnded: true, 10, Ct));
        Assert.Equal((LeaseStatus.Ended, lease.Id, AuditOutcomes.Error), (lease.Status, denied.Lease, denied.Outcome));
        Assert.Empty(await _store.LoadLiveAsync(Ct));
        await leases.EndDueAsync(Ct);
        Assert.Empty(_provider.Revokes);
    }

    [Fact]
    public async Task A_grant_the_database_refuses_is_424_grant_refused()
    {
        var leases = await StartAsync();
        _provider.FailIssues(1, CredentialFailure.Refused);

        AssertRefused(await leases.IssueAsync(Post(Token()), "warehouse"), 424, RefusalCodes.LeaseGrantRefused);
        Assert.Empty(await _store.LoadLiveAsync(Ct));
    }

    [Fact]
    public async Task A_lost_answer_is_503_and_the_credential_that_may_exist_is_ended_by_the_next_sweep()
    {
        var leases = await StartAsync();
        _provider.FailIssues(1, CredentialFailure.Unavailable, mayExist: true);

        AssertRefused(await leases.IssueAsync(Post(Token()), "warehouse"), 503, RefusalCodes.LeaseDatabaseUnavailable);
        var lease = Assert.Single(await _store.LoadLiveAsync(Ct));
        Assert.Equal(LeaseStatus.Ending, lease.Status);

        await leases.EndDueAsync(Ct);

        Assert.Equal(lease.Id, Assert.Single(_provider.Revokes).LeaseId);
        Assert.Equal(LeaseStatus.Ended, _store[lease.Id]!.Status);
        Assert.Equal(lease.Id, Assert.Single(Events(AuditTypes.LeaseRevoked)).Lease);
    }

    [Fact]
    public async Task A_database_that_does_not_answer_is_cut_at_the_provider_timeout_and_the_lease_is_ended_later()
    {
        var leases = await StartAsync();
        _provider.HangIssues = true;

        var issuing = leases.IssueAsync(Post(Token()), "warehouse");
        await _provider.IssueStarted;
        Assert.False(issuing.IsCompleted);
        _core.Time.Advance(LeaseService.ProviderTimeout);
        var verdict = await issuing.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        AssertRefused(verdict, 503, RefusalCodes.LeaseDatabaseUnavailable);
        Assert.Equal(LeaseStatus.Ending, Assert.Single(await _store.LoadLiveAsync(Ct)).Status);
        _provider.HangIssues = false;
        await leases.EndDueAsync(Ct);
        Assert.Single(_provider.Revokes);
        Assert.Empty(await _store.LoadLiveAsync(Ct));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_credential_whose_lease_issued_is_not_durable_is_ended_at_once_and_never_handed_out(bool beforeWrite)
    {
        var failure = beforeWrite ? MemoryAuditStore.Failure.BeforeWrite : MemoryAuditStore.Failure.AfterWrite;
        var leases = await StartAsync();
        _provider.OnIssue = _ =>
        {
            _core.AuditStore.FailNext = failure;
            return Task.CompletedTask;
        };

        var verdict = await leases.IssueAsync(Post(Token()), "warehouse");

        Assert.Null(verdict.Credential);
        Assert.Equal((503, RefusalCodes.LeaseNotRecorded), (verdict.Refusal!.Status, verdict.Refusal.Code));
        var request = Assert.Single(_provider.Issues);
        Assert.Equal(request.LeaseId, Assert.Single(_provider.Revokes).LeaseId);
        Assert.Equal(LeaseStatus.Ended, _store[request.LeaseId]!.Status);
        Assert.Equal(request.LeaseId, Assert.Single(Events(AuditTypes.LeaseRevoked)).Lease);
    }

    [Fact]
    public async Task A_provider_that_throws_unexpectedly_is_503_on_record_and_its_credential_is_ended_by_the_sweep()
    {
        var leases = await StartAsync();
        _provider.ThrowOnIssue = new InvalidOperationException("connection Host=db.internal;Password=admin-pw-0123456789 broke");

        var verdict = await leases.IssueAsync(Post(Token()), "warehouse");

        var denied = AssertRefused(verdict, 503, RefusalCodes.LeaseDatabaseUnavailable);
        Assert.DoesNotContain("admin-pw", denied.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("admin-pw", verdict.Refusal!.Detail, StringComparison.Ordinal);
        var lease = Assert.Single(await _store.LoadLiveAsync(Ct));
        Assert.Equal(LeaseStatus.Ending, lease.Status);
        await leases.EndDueAsync(Ct);
        Assert.Equal(lease.Id, Assert.Single(_provider.Revokes).LeaseId);
        Assert.Empty(await _store.LoadLiveAsync(Ct));
    }

    // ---- Ending ----

    public static TheoryData<string> Revocations => ["token", "mission", "agent", "principal"];

    [Theory]
    [MemberData(nameof(Revocations))]
    public async Task A_revocation_of_what_the_lease_hangs_on_ends_it(string what)
    {
        var leases = await StartAsync();
        var token = what switch
        {
            "mission" => Token(mission: "mis_0123"),
            "principal" => Token(principal: "alice"),
            _ => Token(),
        };
        var lease = await IssueAsync(leases, token);
        var now = _core.Time.GetUtcNow();
        _core.Time.Advance(TimeSpan.FromSeconds(5));
        Assert.Empty(await EndedByNextSweep(leases));

        var (kind, id) = what switch
        {
            "token" => (RevocationKind.Token, lease.Jti),
            "mission" => (RevocationKind.Mission, "mis_0123"),
            "principal" => (RevocationKind.Principal, "alice"),
            _ => (RevocationKind.Agent, "support-agent"),
        };
        _revocations.Apply(new RevocationEntry(kind, id, _core.Time.GetUtcNow(), now.AddHours(2)));
        await leases.EndDueAsync(Ct);

        Assert.Equal(lease.Id, Assert.Single(_provider.Revokes).LeaseId);
        var revoked = Assert.Single(Events(AuditTypes.LeaseRevoked));
        Assert.Equal((lease.Id, lease.Username, AuditOutcomes.Allowed, null), (revoked.Lease, revoked.Role, revoked.Outcome, revoked.ReasonCode));
        Assert.Contains("revoked", revoked.Reason, StringComparison.Ordinal);
        Assert.EndsWith("sessions ended and role dropped", revoked.Reason, StringComparison.Ordinal);
        Assert.Equal(LeaseStatus.Ended, _store[lease.Id]!.Status);
    }

    private async Task<IReadOnlyList<CredentialRequest>> EndedByNextSweep(LeaseService leases)
    {
        await leases.EndDueAsync(Ct);
        return _provider.Revokes;
    }

    [Fact]
    public async Task A_lease_ends_at_its_expiry_and_not_before()
    {
        var leases = await StartAsync();
        var lease = await IssueAsync(leases);

        _core.Time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        Assert.Empty(await EndedByNextSweep(leases));
        _core.Time.Advance(TimeSpan.FromSeconds(1));
        await leases.EndDueAsync(Ct);

        Assert.Single(_provider.Revokes);
        Assert.Equal("it expired", _store[lease.Id]!.EndReason);
        Assert.StartsWith("it expired", Assert.Single(Events(AuditTypes.LeaseRevoked)).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lease_whose_agent_left_the_registry_is_ended()
    {
        var leases = await StartAsync();
        var lease = await IssueAsync(leases);

        await Service(agents: _config.Agents.Where(a => a.Id != "support-agent")).EndDueAsync(Ct);

        Assert.Equal(lease.Id, Assert.Single(_provider.Revokes).LeaseId);
        Assert.Equal("agent 'support-agent' is no longer registered", _store[lease.Id]!.EndReason);
    }

    [Fact]
    public async Task A_lease_not_due_stays_and_the_sweep_returns_its_expiry_as_the_next_due_time()
    {
        var leases = await StartAsync();
        var lease = await IssueAsync(leases, Token(lifetime: 20));

        var next = await leases.EndDueAsync(Ct);

        Assert.Equal(lease.ExpiresAt, next);
        Assert.Empty(_provider.Revokes);
        Assert.Equal(LeaseStatus.Active, _store[lease.Id]!.Status);
    }

    [Fact]
    public async Task Without_leases_the_sweep_comes_back_after_sweep_every()
    {
        var leases = await StartAsync();

        Assert.Equal(_core.Time.GetUtcNow() + LeaseService.SweepEvery, await leases.EndDueAsync(Ct));
    }

    [Fact]
    public async Task An_end_that_cannot_be_recorded_leaves_the_lease_for_the_next_sweep()
    {
        var leases = await StartAsync();
        var lease = await IssueAsync(leases);
        _core.Time.Advance(TimeSpan.FromMinutes(10));
        _core.AuditStore.FailNext = MemoryAuditStore.Failure.BeforeWrite;

        await leases.EndDueAsync(Ct);

        Assert.Single(_provider.Revokes);
        Assert.Equal(LeaseStatus.Active, _store[lease.Id]!.Status);
        Assert.Empty(Events(AuditTypes.LeaseRevoked));

        await leases.EndDueAsync(Ct);
        Assert.Equal(2, _provider.Revokes.Count);
        Assert.Equal(LeaseStatus.Ended, _store[lease.Id]!.Status);
        Assert.Single(Events(AuditTypes.LeaseRevoked));
    }

    [Fact]
    public async Task Ended_leases_are_listed_only_when_asked_and_pruned_after_their_retention()
    {
        var leases = await StartAsync();
        var ended = await IssueAsync(leases);
        await leases.RevokeAsync(ended.Id, "carol", force: false, null, Ct);
        _core.Time.Advance(TimeSpan.FromMinutes(1));
        var live = await IssueAsync(leases);

        Assert.Equal([live.Id], (await leases.ListAsync(includeEnded: false, 10, Ct)).Select(l => l.Id));
        Assert.Equal([live.Id, ended.Id], (await leases.ListAsync(includeEnded: true, 10, Ct)).Select(l => l.Id));

        Assert.Equal(0, await leases.PruneAsync(TimeSpan.FromMinutes(1), Ct));
        _core.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await leases.PruneAsync(TimeSpan.FromMinutes(1), Ct));
        Assert.Null(_store[ended.Id]);
        Assert.NotNull(_store[live.Id]);
    }

    // ---- Retries ----

    [Fact]
    public async Task A_failing_revoke_is_on_record_counted_and_retried_after_its_backoff()
    {
        var leases = await StartAsync();
        var lease = await IssueAsync(leases);
        _revocations.Apply(new RevocationEntry(RevocationKind.Token, lease.Jti, _core.Time.GetUtcNow(), _core.Time.GetUtcNow().AddHours(2)));
        _provider.FailRevokes(2);

        var failedAt = _core.Time.GetUtcNow();
        await leases.EndDueAsync(Ct);

        var failed = Assert.Single(Events(AuditTypes.LeaseRevokeFailed));
        Assert.Equal((lease.Id, AuditOutcomes.Error, RefusalCodes.LeaseRevokeFailed), (failed.Lease, failed.Outcome, failed.ReasonCode));
        Assert.Contains("attempt 1 to end it failed: scripted Unavailable", failed.Reason, StringComparison.Ordinal);
        var ending = _store[lease.Id]!;
        Assert.Equal((LeaseStatus.Ending, 1, failedAt + TimeSpan.FromSeconds(1)), (ending.Status, ending.Attempts, ending.NextAttemptAt));
        Assert.Equal("scripted Unavailable: the database did not answer", ending.LastError);
        Assert.Equal(1, leases.RevokeFailures);

        // Not before its time: the next sweep only counts it as failing and says when it is due.
        Assert.Equal(failedAt + TimeSpan.FromSeconds(1), await leases.EndDueAsync(Ct));
        Assert.Single(_provider.Revokes);
        Assert.Equal(1, leases.Failing);

        _core.Time.Advance(TimeSpan.FromSeconds(1));
        await leases.EndDueAsync(Ct);
        Assert.Equal(2, _provider.Revokes.Count);
        Assert.Equal((2, _core.Time.GetUtcNow() + TimeSpan.FromSeconds(2)), (_store[lease.Id]!.Attempts, _store[lease.Id]!.NextAttemptAt));
        Assert.Equal(2, leases.RevokeFailures);

        _core.Time.Advance(TimeSpan.FromSeconds(2));
        await leases.EndDueAsync(Ct);
        Assert.Equal(3, _provider.Revokes.Count);
        Assert.Equal(LeaseStatus.Ended, _store[lease.Id]!.Status);
        Assert.Equal(lease.Id, Assert.Single(Events(AuditTypes.LeaseRevoked)).Lease);
        Assert.Equal(2, Events(AuditTypes.LeaseRevokeFailed).Count);
        await leases.EndDueAsync(Ct);
        Assert.Equal(0, leases.Failing);
    }

    [Fact]
    public async Task A_database_that_does_not_answer_a_revoke_is_cut_at_the_provider_timeout_and_retried()
    {
        var leases = await StartAsync();
        var lease = await IssueAsync(leases);
        _revocations.Apply(new RevocationEntry(RevocationKind.Token, lease.Jti, _core.Time.GetUtcNow(), _core.Time.GetUtcNow().AddHours(2)));
        _provider.HangRevokes = true;

        var ending = leases.EndDueAsync(Ct);
        await _provider.RevokeStarted;
        Assert.False(_provider.LastRevokeToken.IsCancellationRequested);
        _core.Time.Advance(LeaseService.ProviderTimeout);

        // The timeout is the service's clock's, as every time is: cut when that clock says so, not by the wall clock.
        Assert.True(_provider.LastRevokeToken.IsCancellationRequested);
        await ending.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        var failed = Assert.Single(Events(AuditTypes.LeaseRevokeFailed));
        Assert.Contains("the database did not answer within 15 s", failed.Reason, StringComparison.Ordinal);
        Assert.Equal((LeaseStatus.Ending, 1), (_store[lease.Id]!.Status, _store[lease.Id]!.Attempts));
    }

    [Fact]
    public async Task A_provider_that_throws_unexpectedly_while_ending_one_lease_does_not_stop_the_others_from_ending()
    {
        var leases = await StartAsync();
        var first = await IssueAsync(leases);
        var second = await IssueAsync(leases);
        _revocations.Apply(new RevocationEntry(RevocationKind.Agent, "support-agent", _core.Time.GetUtcNow(), _core.Time.GetUtcNow().AddHours(2)));
        _provider.ThrowOnRevoke = new InvalidOperationException("connection Host=db.internal;Password=admin-pw-0123456789 broke");

        await leases.EndDueAsync(Ct);

        Assert.Equal(2, _provider.Revokes.Count);
        var statuses = new[] { _store[first.Id]!, _store[second.Id]! };
        Assert.Single(statuses, l => l.Status == LeaseStatus.Ended);
        var failing = Assert.Single(statuses, l => l.Status == LeaseStatus.Ending);
        Assert.Equal(1, failing.Attempts);
        Assert.DoesNotContain("admin-pw", failing.LastError, StringComparison.Ordinal);
        Assert.Equal(failing.Id, Assert.Single(Events(AuditTypes.LeaseRevokeFailed)).Lease);
        Assert.Equal(1, leases.RevokeFailures);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(8, 128)]
    [InlineData(9, 300)]
    [InlineData(10, 300)]
    [InlineData(1000, 300)]
    [InlineData(int.MaxValue, 300)]
    public void Backoff_doubles_from_one_second_to_at_most_five_minutes(int attempts, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), LeaseService.Backoff(attempts));

    // ---- Force ----

    [Fact]
    public async Task A_forced_revoke_closes_a_lease_the_database_will_not_end_and_says_so()
    {
        var leases = await StartAsync();
        var lease = await IssueAsync(leases);
        _provider.FailRevokes(int.MaxValue);

        var unforced = await leases.RevokeAsync(lease.Id, "carol", force: false, "req-9", Ct);
        Assert.NotNull(unforced);
        Assert.False(unforced.Ended);
        Assert.Equal((LeaseStatus.Ending, 1), (unforced.Lease.Status, unforced.Lease.Attempts));
        Assert.NotNull(unforced.Error);
        Assert.Equal(LeaseStatus.Ending, _store[lease.Id]!.Status);

        var forced = await leases.RevokeAsync(lease.Id, "carol", force: true, "req-10", Ct);

        Assert.NotNull(forced);
        Assert.True(forced.Ended);
        Assert.NotNull(forced.Error);
        var revoked = Assert.Single(Events(AuditTypes.LeaseRevoked));
        Assert.Equal((RefusalCodes.LeaseForced, "req-10", lease.Id), (revoked.ReasonCode, revoked.RequestId, revoked.Lease));
        Assert.Contains("revoked by carol", revoked.Reason, StringComparison.Ordinal);
        Assert.Contains("may remain", revoked.Reason, StringComparison.Ordinal);
        Assert.Equal(LeaseStatus.Ended, _store[lease.Id]!.Status);
        Assert.Empty(await _store.LoadLiveAsync(Ct));
    }

    [Fact]
    public async Task An_operator_revoke_that_succeeds_ends_the_lease()
    {
        var leases = await StartAsync();
        var lease = await IssueAsync(leases);

        var end = await leases.RevokeAsync(lease.Id, "carol", force: false, null, Ct);

        Assert.True(end!.Ended);
        Assert.Null(end.Error);
        Assert.Null(Assert.Single(Events(AuditTypes.LeaseRevoked)).ReasonCode);
    }

    [Theory]
    [InlineData("ls_00000000000000000000000000000000")]
    [InlineData("ls_0000")]
    [InlineData("LS_00000000000000000000000000000000")]
    [InlineData("'; DROP ROLE x; --")]
    [InlineData("")]
    public async Task An_unknown_or_malformed_lease_id_is_null(string id)
    {
        var leases = await StartAsync();
        await IssueAsync(leases);

        Assert.Null(await leases.RevokeAsync(id, "carol", force: true, null, Ct));
        Assert.Empty(_provider.Revokes);
    }

    [Fact]
    public async Task An_ended_lease_is_returned_unchanged_and_not_ended_twice()
    {
        var leases = await StartAsync();
        var lease = await IssueAsync(leases);
        await leases.RevokeAsync(lease.Id, "carol", force: false, null, Ct);
        var ended = _store[lease.Id]!;

        var again = await leases.RevokeAsync(lease.Id, "dave", force: true, null, Ct);

        Assert.Equal(ended, again!.Lease);
        Assert.Null(again.Error);
        Assert.Single(_provider.Revokes);
        Assert.Single(Events(AuditTypes.LeaseRevoked));
    }

    // ---- Restart ----

    private async Task<Lease> LeftIssuingAsync(string node)
    {
        var claims = new AccessTokenClaims
        {
            Issuer = Issuer,
            Subject = "support-agent",
            Audience = WarehouseAudience,
            ClientId = "support-agent",
            Scope = ScopeSet.Parse("warehouse:read"),
            Jti = Guid.NewGuid().ToString("N"),
            IssuedAt = _core.Time.GetUtcNow().ToUnixTimeSeconds(),
            ExpiresAt = _core.Time.GetUtcNow().ToUnixTimeSeconds() + 3600,
        };
        var lease = Lease.Open(LeaseNames.NewId(), "warehouse", claims, ["warehouse:read"], _core.Time.GetUtcNow(), _core.Time.GetUtcNow().AddMinutes(10), node);
        await _store.OpenAsync(lease, Ct);
        return lease;
    }

    [Fact]
    public async Task A_lease_this_node_left_issuing_before_it_started_is_ended_at_the_first_sweep()
    {
        await StartAsync();
        var left = await LeftIssuingAsync("node-a");
        _core.Time.Advance(TimeSpan.FromSeconds(1));

        await Service().EndDueAsync(Ct);

        Assert.Equal(left.Id, Assert.Single(_provider.Revokes).LeaseId);
        Assert.Equal(LeaseStatus.Ended, _store[left.Id]!.Status);
        Assert.Contains("its issue never finished", Assert.Single(Events(AuditTypes.LeaseRevoked)).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lease_another_node_is_issuing_is_left_until_it_is_stale()
    {
        var leases = await StartAsync();
        var other = await LeftIssuingAsync("node-b");

        _core.Time.Advance(LeaseService.StaleIssuing - TimeSpan.FromSeconds(1));
        Assert.Equal(other.CreatedAt + LeaseService.StaleIssuing, await leases.EndDueAsync(Ct));
        Assert.Empty(_provider.Revokes);
        Assert.Equal(LeaseStatus.Issuing, _store[other.Id]!.Status);

        _core.Time.Advance(TimeSpan.FromSeconds(2));
        await leases.EndDueAsync(Ct);
        Assert.Equal(other.Id, Assert.Single(_provider.Revokes).LeaseId);
        Assert.Equal(LeaseStatus.Ended, _store[other.Id]!.Status);
    }

    [Fact]
    public async Task A_lease_being_issued_in_this_process_is_not_swept_as_left_behind()
    {
        var leases = await StartAsync();
        _provider.HoldIssues();
        var issuing = leases.IssueAsync(Post(Token()), "warehouse");
        await _provider.IssueStarted;

        // Older than a stale issue, but this process's own, still in the provider's hands: the sweep leaves it alone.
        _core.Time.Advance(LeaseService.StaleIssuing + TimeSpan.FromSeconds(1));
        await leases.EndDueAsync(Ct);

        Assert.Empty(_provider.Revokes);
        Assert.Equal(LeaseStatus.Issuing, Assert.Single(await _store.LoadLiveAsync(Ct)).Status);
        _provider.ReleaseIssues();
        var lease = Issued(await issuing.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal(LeaseStatus.Active, _store[lease.Id]!.Status);
        Assert.Empty(_provider.Revokes);
    }

    [Fact]
    public async Task A_provider_that_does_not_answer_an_issue_is_cut_at_its_timeout_not_swept_before()
    {
        var leases = await StartAsync();
        _provider.HangIssues = true;
        var issuing = leases.IssueAsync(Post(Token()), "warehouse");
        await _provider.IssueStarted;

        _core.Time.Advance(LeaseService.ProviderTimeout - TimeSpan.FromSeconds(1));
        await leases.EndDueAsync(Ct);

        Assert.Empty(_provider.Revokes);
        Assert.False(issuing.IsCompleted);
        _core.Time.Advance(TimeSpan.FromSeconds(1));
        AssertRefused(await issuing.WaitAsync(TimeSpan.FromSeconds(30), Ct), 503, RefusalCodes.LeaseDatabaseUnavailable);
    }

    [Fact]
    public async Task A_second_pass_on_the_same_node_waits_for_the_end_in_flight_instead_of_ending_the_lease_twice()
    {
        var leases = await StartAsync();
        var lease = await IssueAsync(leases);
        _revocations.Apply(new RevocationEntry(RevocationKind.Token, lease.Jti, _core.Time.GetUtcNow(), _core.Time.GetUtcNow().AddHours(2)));
        _provider.HoldRevokes();

        // The reaper's pass is ending it; a second pass (a test, an operator's sweep) on this node sees it due too.
        var first = leases.EndDueAsync(Ct);
        await _provider.RevokeStarted;
        var second = leases.EndDueAsync(Ct);
        Assert.False(second.IsCompleted);
        _provider.ReleaseRevokes();
        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        // Once the second pass returns, the lease has ended: once.
        Assert.Single(_provider.Revokes);
        Assert.Single(Events(AuditTypes.LeaseRevoked));
        Assert.Equal(LeaseStatus.Ended, _store[lease.Id]!.Status);
    }

    [Fact]
    public async Task An_operators_revoke_during_the_reapers_end_answers_with_that_end()
    {
        var leases = await StartAsync();
        var lease = await IssueAsync(leases);
        _revocations.Apply(new RevocationEntry(RevocationKind.Token, lease.Jti, _core.Time.GetUtcNow(), _core.Time.GetUtcNow().AddHours(2)));
        _provider.HoldRevokes();
        var reaping = leases.EndDueAsync(Ct);
        await _provider.RevokeStarted;

        var revoking = leases.RevokeAsync(lease.Id, "carol", force: false, null, Ct);
        _provider.ReleaseRevokes();
        var end = await revoking.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await reaping;

        Assert.True(end!.Ended);
        Assert.Single(_provider.Revokes);
        Assert.Single(Events(AuditTypes.LeaseRevoked));
    }

    // ---- Several nodes ----

    [Fact]
    public async Task On_two_nodes_a_due_lease_is_ended_once()
    {
        var nodeA = await StartAsync();
        var nodeB = Service(ConfigLoader.Load(Yaml("node-b"), "tessera.yaml", Path.GetTempPath()));
        var lease = await IssueAsync(nodeA);
        _revocations.Apply(new RevocationEntry(RevocationKind.Token, lease.Jti, _core.Time.GetUtcNow(), _core.Time.GetUtcNow().AddHours(2)));
        _provider.HoldRevokes();

        // Node A has claimed it and is ending it; node B sees it due but not its own to end.
        var endingOnA = nodeA.EndDueAsync(Ct);
        await _provider.RevokeStarted;
        await nodeB.EndDueAsync(Ct);
        _provider.ReleaseRevokes();
        await endingOnA.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await nodeB.EndDueAsync(Ct);

        Assert.Single(_provider.Revokes);
        Assert.Single(Events(AuditTypes.LeaseRevoked));
        Assert.Equal(LeaseStatus.Ended, _store[lease.Id]!.Status);
    }

    // ---- A reload that removes the tool ----

    /// <summary>The lease service and a reloader over one live configuration loaded from a file, as a running server has them.</summary>
    private async Task<(LeaseService Leases, ConfigReloader Reloader, string Path)> StartFromFileAsync()
    {
        var directory = Directory.CreateTempSubdirectory("tessera-lease-reload-").FullName;
        var path = Path.Combine(directory, "tessera.yaml");
        await File.WriteAllTextAsync(path, Yaml(), Ct);
        var config = ConfigLoader.LoadFile(path, _core.Time);
        await _core.StartAsync(config, initializeKeys: true, Ct);
        var live = LiveConfig.Of(config, _core.Time);
        _vault = new SecretVault(new MemorySecretStore(_core.AuditStore), _core.MasterKey, _core.Log, live, _core.Time);
        await _vault.LoadAsync(Ct);
        await _vault.PutAsync("warehouse-admin", Encoding.UTF8.GetBytes(AdminSecret), "admin", null, Ct);
        var leases = Service(config, running: live);
        var reloader = new ConfigReloader(live, _core.Log, new RevocationService(_revocations, new NoRevocations(), _core.AuditStore, new NoMissions(), _core.Log, config, _core.Time),
            _vault, _core.Time, new HttpClient(), NullLogger<ConfigReloader>.Instance, leases);
        return (leases, reloader, path);
    }

    /// <summary>The same file without the warehouse tool (and without its scopes).</summary>
    private static string WithoutWarehouse()
    {
        var yaml = Yaml();
        var start = yaml.IndexOf("  - id: warehouse", StringComparison.Ordinal);
        var end = yaml.IndexOf("  - id: crm", StringComparison.Ordinal);
        return (yaml[..start] + yaml[end..])
            .Replace("[ \"warehouse:read\", \"warehouse:write\", \"warehouse:drop\", \"crm:read\" ]", "[ \"crm:read\" ]", StringComparison.Ordinal)
            .Replace("[ \"warehouse:read\" ]", "[ ]", StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reload_that_removes_the_database_tool_ends_its_leases_while_the_tool_is_still_known()
    {
        var (leases, reloader, path) = await StartFromFileAsync();
        var (first, second) = (await IssueAsync(leases), await IssueAsync(leases));
        await File.WriteAllTextAsync(path, WithoutWarehouse(), Ct);

        var outcome = await reloader.ReloadAsync("corp:carol", "req-9", Ct);

        Assert.True(outcome.Reloaded, outcome.Problem);
        Assert.Contains("tool removed: warehouse", outcome.Changes);
        Assert.DoesNotContain(outcome.Warnings, w => w.StartsWith("lease", StringComparison.Ordinal));
        Assert.Equal(new[] { first.Username, second.Username }.Order(StringComparer.Ordinal), _provider.Revokes.Select(r => r.Username).Order(StringComparer.Ordinal));
        Assert.Equal((LeaseStatus.Ended, LeaseStatus.Ended), (_store[first.Id]!.Status, _store[second.Id]!.Status));
        Assert.All(Events(AuditTypes.LeaseRevoked), e => Assert.Contains("configuration reload (corp:carol): tool removed", e.Reason, StringComparison.Ordinal));
        // And no lease can be had for it any more.
        Assert.Equal(404, Assert.IsType<ProxyRefusal>((await leases.IssueAsync(Post(Token()), "warehouse")).Refusal).Status);
    }

    [Fact]
    public async Task A_lease_the_reload_cannot_end_is_named_in_its_warnings_and_the_new_configuration_runs_all_the_same()
    {
        var (leases, reloader, path) = await StartFromFileAsync();
        var lease = await IssueAsync(leases);
        _provider.FailRevokes(10);
        await File.WriteAllTextAsync(path, WithoutWarehouse(), Ct);

        var outcome = await reloader.ReloadAsync("corp:carol", null, Ct);

        Assert.True(outcome.Reloaded, outcome.Problem);
        var warning = Assert.Single(outcome.Warnings, w => w.StartsWith("lease", StringComparison.Ordinal));
        Assert.Contains($"lease {lease.Id} of tool warehouse could not be ended (tool removed;", warning, StringComparison.Ordinal);
        Assert.Contains($"tessera lease revoke {lease.Id} --force", warning, StringComparison.Ordinal);
        Assert.NotEqual(LeaseStatus.Ended, _store[lease.Id]!.Status);
    }

    [Fact]
    public async Task A_reload_that_changes_a_scopes_grants_ends_the_leases_holding_it_and_no_other()
    {
        var (leases, reloader, path) = await StartFromFileAsync();
        var read = await IssueAsync(leases);
        var write = await IssueAsync(leases, Token("warehouse:write"));
        await File.WriteAllTextAsync(path, Yaml().Replace($"read:  {{ grants: [ \"{ReadGrant}\" ] }}", "read:  { grants: [ \"GRANT SELECT ON analytics.summary TO {{role}}\" ] }", StringComparison.Ordinal), Ct);

        var outcome = await reloader.ReloadAsync("corp:carol", "req-10", Ct);

        Assert.True(outcome.Reloaded, outcome.Problem);
        Assert.Contains("scope changed: warehouse:read (grants)", outcome.Changes);
        Assert.Equal([read.Username], _provider.Revokes.Select(r => r.Username));
        Assert.Equal((LeaseStatus.Ended, LeaseStatus.Active), (_store[read.Id]!.Status, _store[write.Id]!.Status));
        var ended = Assert.Single(Events(AuditTypes.LeaseRevoked));
        Assert.Contains("configuration reload (corp:carol): grants of warehouse:read changed", ended.Reason, StringComparison.Ordinal);

        // The agent asks again and its new lease runs the new grants.
        var again = await IssueAsync(leases);
        Assert.Contains("analytics.summary", Assert.Single(_provider.Issues, i => i.Username == again.Username).Grants.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reload_that_takes_a_scope_from_the_agent_ends_its_leases_carrying_it_and_an_unrelated_change_ends_none()
    {
        var (leases, reloader, path) = await StartFromFileAsync();
        var write = await IssueAsync(leases, Token("warehouse:write"));
        var read = await IssueAsync(leases);

        await File.WriteAllTextAsync(path, Yaml().Replace("read: { rules: [ \"GET /contacts/**\" ] }", "read: { rules: [ \"GET /contacts/*\" ] }", StringComparison.Ordinal), Ct);
        Assert.True((await reloader.ReloadAsync("corp:carol", null, Ct)).Reloaded);
        Assert.Empty(_provider.Revokes);

        await File.WriteAllTextAsync(path, Yaml().Replace("[ \"warehouse:read\", \"warehouse:write\", \"warehouse:drop\", \"crm:read\" ]", "[ \"warehouse:read\", \"crm:read\" ]", StringComparison.Ordinal), Ct);
        Assert.True((await reloader.ReloadAsync("corp:carol", null, Ct)).Reloaded);

        Assert.Equal([write.Username], _provider.Revokes.Select(r => r.Username));
        Assert.Equal((LeaseStatus.Ended, LeaseStatus.Active), (_store[write.Id]!.Status, _store[read.Id]!.Status));
        Assert.Contains("warehouse:write no longer allowed to support-agent", Assert.Single(Events(AuditTypes.LeaseRevoked)).Reason, StringComparison.Ordinal);
    }
}
