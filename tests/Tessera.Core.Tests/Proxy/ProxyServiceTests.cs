using Tessera.Core.Dpop;
using Tessera.Core.Tests.Dpop;
using Tessera.Core.Tests.Vault;

namespace Tessera.Core.Tests.Proxy;

/// <summary>
/// The proxy's decisions without HTTP: each refusal's status, challenge and record, and what a grant
/// carries. The end-to-end cases (the same rules on the wire, through YARP) are in the server's tests.
/// </summary>
public sealed class ProxyServiceTests : IAsyncDisposable
{
    private const string Issuer = "https://tessera.example";
    private const string CrmAudience = "urn:tessera:tool:crm";
    private const string CrmKey = "sk_live_crm_0123456789";

    private readonly CoreHarness _core = new();
    private readonly MemoryTokenUseStore _uses = new();
    private readonly DpopKey _dpopKey = DpopKey.CreateEc();
    private readonly TesseraConfig _config = ConfigLoader.Load("""
        server:
          listen: http://127.0.0.1:8080
          issuer: https://tessera.example
          bootstrap_admin_token: false
        tools:
          - id: crm
            upstream: http://127.0.0.1:9102
            credential: { secret: crm-key, header: X-Api-Key }
            scopes:
              read:   { rules: [ "GET /contacts/**" ] }
              export: { rules: [ "POST /exports" ] }
          - id: ledger
            upstream: http://127.0.0.1:9103
            require_dpop: true
            scopes:
              read: { rules: [ "GET /entries/*" ] }
          - id: notes
            scopes:
              read: { rules: [ "GET /notes/*" ] }
          - id: issues
            protocol: mcp
            upstream: http://127.0.0.1:9104/mcp
            scopes:
              read: { rules: [ "MCP tools/list" ] }
        agents:
          - id: support-agent
            owner: support-platform@corp.example
            purpose: Answer customer tickets
            expires: 2027-06-30
            auth:
              client_secret_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
            allowed_scopes: [ "crm:read", "crm:export", "ledger:read", "issues:read", "notes:read" ]
        """, "tessera.yaml", Path.GetTempPath());

    private readonly RevocationIndex _revocations = new();
    private SecretVault? _vault;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<ProxyService> StartAsync(bool withCredential = true, TesseraConfig? config = null)
    {
        config ??= _config;
        await _core.StartAsync(config, initializeKeys: true, Ct);
        _vault = new SecretVault(new MemorySecretStore(_core.AuditStore), _core.MasterKey, _core.Log, LiveConfig.Of(config, _core.Time), _core.Time);
        await _vault.LoadAsync(Ct);
        if (withCredential)
        {
            await _vault.PutAsync("crm-key", Encoding.UTF8.GetBytes(CrmKey), "admin", null, Ct);
        }

        var validator = new AccessTokenValidator(_core.Keys, _revocations, LiveConfig.Of(config, _core.Time), _core.Time);
        var dpop = new DpopProofValidator(new MemoryReplayCache(_core.Time), new DpopNonces(_core.MasterKey, _core.Time), config, _core.Time);
        return new ProxyService(validator, LiveConfig.Of(config, _core.Time), _vault, _uses, _core.Log, dpop, new McpSessionBinding(_core.MasterKey), _revocations, _core.Time, NullLogger<ProxyService>.Instance);
    }

    private string Token(string scope, string audience = CrmAudience, int? maxUses = null, string? details = null, string? jkt = null, long lifetime = 300)
    {
        var now = _core.Time.GetUtcNow().ToUnixTimeSeconds();
        return JwtSigner.Sign(_core.Keys.Current(), new AccessTokenClaims
        {
            Issuer = Issuer,
            Subject = "support-agent",
            Audience = audience,
            ClientId = "support-agent",
            Scope = ScopeSet.Parse(scope),
            Jti = Guid.NewGuid().ToString("N"),
            IssuedAt = now,
            ExpiresAt = now + lifetime,
            MaxUses = maxUses,
            AuthorizationDetails = details,
            Jkt = jkt,
        });
    }

    private static FakeProxyRequest Get(string target, string? token) =>
        token is null ? new FakeProxyRequest("GET", target) : new FakeProxyRequest("GET", target).With("Authorization", "Bearer " + token);

    private IReadOnlyList<AuditEvent> Events(string type) => [.. _core.AuditStore.Events.Where(e => e.Record.Type == type)];

    private static ProxyRefusal Refused(ProxyVerdict verdict)
    {
        Assert.False(verdict.IsAllowed);
        return Assert.IsType<ProxyRefusal>(verdict.Refusal);
    }

    /// <summary>The refusal is on record as proxy.denied with its status, reason and code (the rule that refused), and nothing was allowed.</summary>
    private AuditRecord AssertDenied(ProxyRefusal refusal, string code)
    {
        Assert.Equal(code, refusal.Code);
        var denied = Assert.Single(Events(AuditTypes.ProxyDenied)).Record;
        Assert.Equal(code, denied.ReasonCode);
        Assert.Equal(refusal.Status, denied.Status);
        Assert.Equal(refusal.AuditReason, denied.Reason);
        Assert.Equal("req-1", denied.RequestId);
        Assert.Empty(Events(AuditTypes.ProxyForwarded));
        return denied;
    }

    [Fact]
    public async Task An_allowed_request_is_granted_with_its_normalized_path_query_and_credential_and_is_on_record_before_it_is_forwarded()
    {
        var proxy = await StartAsync();

        var verdict = await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/./jane%20doe?fields=name", Token("crm:read")));

        Assert.True(verdict.IsAllowed);
        Assert.Null(verdict.Refusal);
        var grant = verdict.Grant;
        Assert.Equal("crm", grant.Tool.Id);
        Assert.Equal(new Uri("http://127.0.0.1:9102"), grant.Upstream);
        Assert.Equal("/contacts/jane doe", grant.Path.Path);
        Assert.Equal("/contacts/jane%20doe", grant.Path.Encoded);
        Assert.Equal("?fields=name", grant.Query);
        Assert.Equal("X-Api-Key", grant.CredentialHeader);
        Assert.Equal(CrmKey, grant.Credential);

        var forwarded = Assert.Single(Events(AuditTypes.ProxyForwarded)).Record;
        Assert.Equal(AuditOutcomes.Allowed, forwarded.Outcome);
        Assert.Equal("crm", forwarded.Tool);
        Assert.Equal("GET", forwarded.Method);
        Assert.Equal("/contacts/jane doe", forwarded.Path);
        Assert.Equal(["crm:read"], forwarded.Scopes);
        Assert.Equal("GET /contacts/**", forwarded.Rule);
        Assert.Equal("support-agent", forwarded.Agent);
        Assert.Equal("req-1", forwarded.RequestId);
        Assert.Empty(Events(AuditTypes.ProxyDenied));
        Assert.DoesNotContain(_core.AuditStore.Events, e => Encoding.UTF8.GetString(e.Json).Contains(CrmKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_outcome_follows_the_forwarded_event_with_the_status_latency_and_upstream_error()
    {
        var proxy = await StartAsync();
        var completed = (await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", Token("crm:read")))).Grant;
        var failed = (await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/2", Token("crm:read")))).Grant;

        proxy.RecordOutcome(completed, 200, 12.5, null, ["X-Echo"]);
        proxy.RecordOutcome(failed, 504, 30_000, "RequestTimedOut", null, ProxyService.FailureCode(null, timedOut: true));
        await _core.Log.AppendAsync(new AuditRecord { Type = "test.probe", Outcome = AuditOutcomes.Allowed }, cancellationToken: Ct);

        var done = Assert.Single(Events(AuditTypes.ProxyCompleted)).Record;
        Assert.Equal((200, 12.5, "/contacts/1"), (done.Status, done.LatencyMs, done.Path));
        Assert.Equal("response headers carrying the credential removed: X-Echo", done.Reason);
        var error = Assert.Single(Events(AuditTypes.ProxyFailed)).Record;
        Assert.Equal((AuditOutcomes.Error, 504, "/contacts/2"), (error.Outcome, error.Status, error.Path));
        Assert.Equal("upstream error: RequestTimedOut", error.Reason);
        Assert.Null(done.ReasonCode);
        Assert.Equal(RefusalCodes.ProxyUpstreamTimeout, error.ReasonCode);
    }

    [Fact]
    public async Task A_request_without_a_token_is_401_offering_both_schemes_and_on_record_without_an_agent()
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", null)));

        Assert.Equal(401, refusal.Status);
        Assert.Equal("Unauthorized", refusal.Title);
        Assert.Equal("an access token is required (Bearer, or DPoP with a proof)", refusal.Detail);
        Assert.Equal(2, refusal.Challenges!.Length);
        Assert.Equal("Bearer realm=\"tessera\"", refusal.Challenges[0]);
        Assert.StartsWith("DPoP realm=\"tessera\", algs=\"ES256 ", refusal.Challenges[1], StringComparison.Ordinal);
        Assert.Null(refusal.ToolId);
        var denied = AssertDenied(refusal, RefusalCodes.ProxyTokenMissing);
        Assert.Null(denied.Agent);
        Assert.Null(denied.Tool);
    }

    [Fact]
    public async Task Two_authorization_headers_are_400_with_an_invalid_request_challenge()
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(new FakeProxyRequest("GET", "/proxy/crm/contacts/1")
            .With("Authorization", "Bearer " + Token("crm:read"), "Bearer " + Token("crm:read"))));

        Assert.Equal(400, refusal.Status);
        Assert.Equal(["Bearer realm=\"tessera\", error=\"invalid_request\", error_description=\"more than one Authorization header\""], refusal.Challenges!);
        AssertDenied(refusal, RefusalCodes.ProxySeveralAuthorizationHeaders);
    }

    [Theory]
    [InlineData("/proxy")]
    [InlineData("http://evil.example/proxy/crm/contacts/1")]
    [InlineData("*")]
    [InlineData("")]
    public async Task A_target_that_is_not_an_origin_form_path_under_proxy_is_400_before_the_token_is_read(string target)
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(Get(target, Token("crm:read"))));

        Assert.Equal(400, refusal.Status);
        Assert.Equal("the request target must be an origin-form path under /proxy/", refusal.Detail);
        Assert.Null(refusal.Challenges);
        Assert.Null(AssertDenied(refusal, RefusalCodes.ProxyTargetNotOriginForm).Agent);
    }

    [Fact]
    public async Task A_forged_token_is_401_invalid_token_and_its_unverified_claims_are_not_recorded()
    {
        var proxy = await StartAsync();
        var token = Token("crm:read");
        var forged = token[..^4] + (token[^4] == 'A' ? "BBBB" : "AAAA");

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", forged)));

        Assert.Equal(401, refusal.Status);
        Assert.Equal("the token is not signed by this Tessera", refusal.Detail);
        Assert.Equal(["Bearer realm=\"tessera\", error=\"invalid_token\", error_description=\"the token is not signed by this Tessera\""], refusal.Challenges!);
        Assert.Null(AssertDenied(refusal, RefusalCodes.ProxyTokenNotOurs).Agent);
    }

    [Fact]
    public async Task An_expired_token_is_401_and_recorded_with_its_agent()
    {
        var proxy = await StartAsync();
        var token = Token("crm:read", lifetime: 60);
        _core.Time.Advance(TimeSpan.FromSeconds(60));

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", token)));

        Assert.Equal(401, refusal.Status);
        Assert.Equal("the token is expired", refusal.Detail);
        Assert.Equal("support-agent", AssertDenied(refusal, RefusalCodes.ProxyTokenExpired).Agent);
    }

    [Fact]
    public async Task A_malformed_token_is_401_token_malformed()
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", "not-a-jwt")));

        Assert.Equal((401, "the token is malformed"), (refusal.Status, refusal.Detail));
        AssertDenied(refusal, RefusalCodes.ProxyTokenMalformed);
    }

    [Fact]
    public async Task A_token_of_a_revoked_agent_is_401_token_revoked()
    {
        var proxy = await StartAsync();
        var token = Token("crm:read");
        var now = _core.Time.GetUtcNow();
        _revocations.Apply(new RevocationEntry(RevocationKind.Agent, "support-agent", now, now.AddHours(1)));

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", token)));

        Assert.Equal((401, "the token is revoked"), (refusal.Status, refusal.Detail));
        AssertDenied(refusal, RefusalCodes.ProxyTokenRevoked);
    }

    [Fact]
    public async Task A_token_living_longer_than_this_server_issues_is_401_token_lifetime_exceeded()
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", Token("crm:read", lifetime: 30 * 24 * 3600))));

        Assert.Equal((401, "the token is valid for longer than this server issues tokens"), (refusal.Status, refusal.Detail));
        AssertDenied(refusal, RefusalCodes.ProxyTokenLifetimeExceeded);
    }

    [Fact]
    public async Task A_token_for_another_tool_is_403_wrong_audience()
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", Token("ledger:read", audience: "urn:tessera:tool:ledger"))));

        Assert.Equal((403, "the token is not for tool 'crm'"), (refusal.Status, refusal.Detail));
        AssertDenied(refusal, RefusalCodes.ProxyWrongAudience);
    }

    [Fact]
    public async Task An_unknown_tool_is_404()
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/billing/invoices/1", Token("crm:read"))));

        Assert.Equal((404, "Unknown tool", "no tool of that id is configured"), (refusal.Status, refusal.Title, refusal.Detail));
        Assert.Null(refusal.ToolId);
        AssertDenied(refusal, RefusalCodes.ProxyToolUnknown);
    }

    [Fact]
    public async Task A_database_tool_is_400_not_proxied_and_on_record()
    {
        var config = ConfigLoader.Load("""
            server:
              listen: http://127.0.0.1:8080
              issuer: https://tessera.example
              bootstrap_admin_token: false
            tools:
              - id: warehouse
                protocol: postgres
                connection: { host: db.internal, database: analytics }
                admin_secret: warehouse-admin
                scopes:
                  read: { grants: [ "GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO {{role}}" ] }
            agents:
              - id: support-agent
                owner: support-platform@corp.example
                purpose: Answer customer tickets
                expires: 2027-06-30
                auth:
                  client_secret_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
                allowed_scopes: [ "warehouse:read" ]
            """, "tessera.yaml", Path.GetTempPath());
        var proxy = await StartAsync(withCredential: false, config: config);

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/warehouse/anything", Token("warehouse:read", audience: "urn:tessera:tool:warehouse"))));

        Assert.Equal((400, "tool 'warehouse' is a database: request a lease at /credentials/warehouse"), (refusal.Status, refusal.Detail));
        Assert.Equal("warehouse", AssertDenied(refusal, RefusalCodes.ProxyToolNotProxied).Tool);
    }

    [Fact]
    public async Task A_mission_token_is_refused_whatever_it_asks()
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", Token("crm:read", audience: Issuer + "/"))));

        Assert.Equal(403, refusal.Status);
        Assert.Equal(ProxyAuthorizer.MissionTokenRefused, refusal.Detail);
        Assert.Equal("crm", AssertDenied(refusal, RefusalCodes.ProxyMissionToken).Tool);
    }

    [Fact]
    public async Task A_request_no_rule_allows_is_403_names_the_path_and_spends_no_use()
    {
        var proxy = await StartAsync();
        var token = Token("crm:read", maxUses: 1);

        var refusal = Refused(await proxy.AuthorizeAsync(new FakeProxyRequest("DELETE", "/proxy/crm/contacts/1").With("Authorization", "Bearer " + token)));

        Assert.Equal((403, "no rule of the token's scopes allows DELETE /contacts/1"), (refusal.Status, refusal.Detail));
        Assert.Equal("/contacts/1", AssertDenied(refusal, RefusalCodes.ProxyRuleNotMatched).Path);
        Assert.True((await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", token))).IsAllowed);
    }

    [Theory]
    [InlineData("/proxy/crm/contacts/%2e%2e/admin")]
    [InlineData("/proxy/crm/contacts/../admin")]
    [InlineData("/proxy/crm/contacts//1")]
    [InlineData("/proxy/crm/contacts%2f1")]
    public async Task An_ambiguous_path_is_400(string target)
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(Get(target, Token("crm:read"))));

        Assert.Equal(400, refusal.Status);
        Assert.StartsWith("ambiguous path: ", refusal.Detail, StringComparison.Ordinal);
        Assert.Null(AssertDenied(refusal, RefusalCodes.ProxyPathAmbiguous).Path);
    }

    [Fact]
    public async Task An_invalid_query_is_400_and_recorded_with_the_path()
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1?a=%zz", Token("crm:read"))));

        Assert.Equal(400, refusal.Status);
        Assert.StartsWith("invalid query: ", refusal.Detail, StringComparison.Ordinal);
        Assert.Equal("/contacts/1", AssertDenied(refusal, RefusalCodes.ProxyQueryInvalid).Path);
    }

    [Theory]
    [InlineData("X-HTTP-Method-Override")]
    [InlineData("x-original-url")]
    public async Task A_method_or_url_override_header_is_400(string header)
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", Token("crm:read")).With(header, "")));

        Assert.Equal(400, refusal.Status);
        Assert.EndsWith("header is not allowed through the proxy", refusal.Detail, StringComparison.Ordinal);
        AssertDenied(refusal, RefusalCodes.ProxyOverrideHeader);
    }

    [Fact]
    public async Task A_connection_header_naming_what_describes_the_request_is_400()
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", Token("crm:read")).With("Connection", "keep-alive", "Content-Length")));

        Assert.Equal((400, "the Connection header may not name Content-Length, which describes the request itself"), (refusal.Status, refusal.Detail));
        AssertDenied(refusal, RefusalCodes.ProxyConnectionHeader);
    }

    [Fact]
    public async Task A_body_announced_larger_than_the_server_reads_is_413_before_a_use_is_spent()
    {
        var proxy = await StartAsync();
        var token = Token("crm:export", maxUses: 1);
        var request = new FakeProxyRequest("POST", "/proxy/crm/exports") { ContentLength = 2048, MaxBodySize = 1024 }.With("Authorization", "Bearer " + token);

        var refusal = Refused(await proxy.AuthorizeAsync(request));

        Assert.Equal((413, "the request body is larger than the 1024 bytes the proxy accepts"), (refusal.Status, refusal.Detail));
        AssertDenied(refusal, RefusalCodes.ProxyBodyTooLarge);
        Assert.True((await proxy.AuthorizeAsync(new FakeProxyRequest("POST", "/proxy/crm/exports").With("Authorization", "Bearer " + token))).IsAllowed);
    }

    [Fact]
    public async Task A_token_of_max_uses_one_is_granted_once_then_refused()
    {
        var proxy = await StartAsync();
        var token = Token("crm:read", maxUses: 1);

        Assert.True((await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", token))).IsAllowed);
        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", token)));

        Assert.Equal((403, "the token's 1 use(s) are spent"), (refusal.Status, refusal.Detail));
        Assert.Equal(RefusalCodes.ProxyUsesSpent, refusal.Code);
        Assert.Equal(RefusalCodes.ProxyUsesSpent, Assert.Single(Events(AuditTypes.ProxyDenied)).Record.ReasonCode);
        Assert.Single(Events(AuditTypes.ProxyForwarded));
    }

    [Fact]
    public async Task A_tool_without_an_upstream_is_502_and_nothing_is_forwarded()
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/notes/notes/1", Token("notes:read", audience: "urn:tessera:tool:notes"))));

        Assert.Equal((502, "tool 'notes' has no upstream configured"), (refusal.Status, refusal.Detail));
        AssertDenied(refusal, RefusalCodes.ProxyUpstreamMissing);
    }

    [Fact]
    public async Task Without_its_credential_in_the_vault_nothing_is_forwarded_unauthenticated()
    {
        var proxy = await StartAsync(withCredential: false);

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", Token("crm:read"))));

        Assert.Equal((503, "the credential of tool 'crm' is not in the vault"), (refusal.Status, refusal.Detail));
        Assert.Equal("crm", refusal.ToolId);
        AssertDenied(refusal, RefusalCodes.ProxyCredentialMissing);
    }

    [Fact]
    public async Task While_the_audit_log_is_unhealthy_nothing_is_forwarded()
    {
        var proxy = await StartAsync();
        _core.AuditStore.FailNext = MemoryAuditStore.Failure.BeforeWrite;
        await Assert.ThrowsAsync<AuditWriteException>(() => _core.Log.AppendAsync(new AuditRecord { Type = "test.probe", Outcome = AuditOutcomes.Allowed }, cancellationToken: Ct));

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", Token("crm:read"))));

        Assert.Equal((503, "the audit log is not accepting events"), (refusal.Status, refusal.Detail));
        AssertDenied(refusal, RefusalCodes.ProxyAuditUnhealthy);
    }

    [Fact]
    public async Task A_request_whose_event_is_not_durable_within_the_wait_is_refused_and_recorded_as_not_forwarded()
    {
        var proxy = await StartAsync();
        var token = Token("crm:read");
        _core.AuditStore.Hold();
        ProxyVerdict verdict;
        try
        {
            var deciding = proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", token)).AsTask();
            await _core.AuditStore.Holding;
            _core.Time.Advance(ProxyAudit.Timeout);
            verdict = await deciding;
        }
        finally
        {
            _core.AuditStore.Release();
        }

        var refusal = Refused(verdict);
        Assert.Equal((503, "Unavailable", "crm"), (refusal.Status, refusal.Title, refusal.ToolId));
        Assert.Contains("was not forwarded", refusal.Detail, StringComparison.Ordinal);
        Assert.StartsWith("not forwarded: ", refusal.AuditReason, StringComparison.Ordinal);

        // Once the commit went through: the request and that it was never sent, and no proxy.denied.
        await _core.Log.AppendAsync(new AuditRecord { Type = "test.probe", Outcome = AuditOutcomes.Allowed }, cancellationToken: Ct);
        var forwarded = Assert.Single(Events(AuditTypes.ProxyForwarded)).Record;
        var failed = Assert.Single(Events(AuditTypes.ProxyFailed)).Record;
        Assert.Equal((forwarded.RequestId, forwarded.Jti), (failed.RequestId, failed.Jti));
        Assert.Equal((503, refusal.AuditReason), (failed.Status, failed.Reason));
        Assert.Equal((RefusalCodes.ProxyAuditUnavailable, RefusalCodes.ProxyAuditUnavailable), (refusal.Code, failed.ReasonCode));
        Assert.Empty(Events(AuditTypes.ProxyDenied));
    }

    private static string Sha256Hex(byte[] body) => Convert.ToHexStringLower(SHA256.HashData(body));

    private static FakeProxyRequest Export(string token, byte[] body) =>
        new FakeProxyRequest("POST", "/proxy/crm/exports") { ContentType = "application/json", Body = body, ContentLength = body.Length }.With("Authorization", "Bearer " + token);

    private string ExactToken(byte[] approvedBody) =>
        Token("crm:export", maxUses: 1, details: new ExactRequestDetail("crm", "POST", "/exports", Sha256Hex(approvedBody)).ToJson());

    [Fact]
    public async Task A_token_for_one_exact_request_lets_through_that_request_and_its_body()
    {
        var proxy = await StartAsync();
        var body = "{\"format\":\"csv\"}"u8.ToArray();

        var verdict = await proxy.AuthorizeAsync(Export(ExactToken(body), body));

        Assert.True(verdict.IsAllowed);
    }

    [Fact]
    public async Task A_token_for_one_exact_request_refuses_another_body_and_spends_no_use()
    {
        var proxy = await StartAsync();
        var approved = "{\"format\":\"csv\"}"u8.ToArray();
        var token = ExactToken(approved);

        var refusal = Refused(await proxy.AuthorizeAsync(Export(token, "{\"format\":\"all\"}"u8.ToArray())));

        Assert.Equal((403, "the request body is not the one that was approved"), (refusal.Status, refusal.Detail));
        AssertDenied(refusal, RefusalCodes.ProxyExactBodyMismatch);
        Assert.True((await proxy.AuthorizeAsync(Export(token, approved))).IsAllowed);
    }

    [Fact]
    public async Task A_token_for_one_exact_request_refuses_another_method_before_reading_the_body()
    {
        var proxy = await StartAsync();
        var body = "{}"u8.ToArray();

        // A rule of the token's scopes allows GET /contacts/1, so only the approval's binding can refuse it.
        var token = Token("crm:read crm:export", maxUses: 1, details: new ExactRequestDetail("crm", "POST", "/exports", Sha256Hex(body)).ToJson());
        var request = new FakeProxyRequest("GET", "/proxy/crm/contacts/1") { ContentType = "application/json", Body = body, ContentLength = body.Length }
            .With("Authorization", "Bearer " + token);

        var refusal = Refused(await proxy.AuthorizeAsync(request));

        Assert.Equal(403, refusal.Status);
        Assert.Equal("the approval allows only POST /exports", refusal.Detail);
        AssertDenied(refusal, RefusalCodes.ProxyExactRequestMismatch);
        Assert.Equal(0, request.BodyReads);
    }

    [Theory]
    [InlineData(413, "the request body is larger than the 1048576 bytes the proxy accepts", RefusalCodes.ProxyBodyTooLarge)]
    [InlineData(400, "the request body could not be read", RefusalCodes.ProxyBodyUnreadable)]
    public async Task A_body_the_server_refuses_to_read_is_refused_with_its_status(int status, string detail, string code)
    {
        var proxy = await StartAsync();
        var body = "{}"u8.ToArray();
        var request = Export(ExactToken(body), body);
        request.BodyRefusedWith = status;

        var refusal = Refused(await proxy.AuthorizeAsync(request));

        Assert.Equal((status, detail), (refusal.Status, refusal.Detail));
        AssertDenied(refusal, code);
    }

    [Fact]
    public async Task Authorization_details_that_name_no_request_to_this_tool_allow_nothing()
    {
        var proxy = await StartAsync();
        var body = "{}"u8.ToArray();
        var token = Token("crm:export", details: new ExactRequestDetail("ledger", "POST", "/exports", Sha256Hex(body)).ToJson());

        var refusal = Refused(await proxy.AuthorizeAsync(Export(token, body)));

        Assert.Equal((403, "the token's authorization_details do not name a request to this tool"), (refusal.Status, refusal.Detail));
        AssertDenied(refusal, RefusalCodes.ProxyExactRequestUnbound);
    }

    private static readonly TesseraConfig McpConfig = ConfigLoader.Load("""
        server:
          listen: http://127.0.0.1:8080
          issuer: https://tessera.example
          bootstrap_admin_token: false
        tools:
          - id: issues
            protocol: mcp
            upstream: http://127.0.0.1:9104/mcp
            scopes:
              read:  { rules: [ "MCP tools/call get_issue" ] }
              admin: { rules: [ "MCP tools/call delete_issue" ] }
        agents:
          - id: support-agent
            owner: support-platform@corp.example
            purpose: Answer customer tickets
            expires: 2027-06-30
            auth:
              client_secret_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
            allowed_scopes: [ "issues:read", "issues:admin" ]
        """, "tessera.yaml", Path.GetTempPath());

    private const string DeleteIssue = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_issue","arguments":{"number":7}}}""";

    private static FakeProxyRequest McpPost(string token, string body, params (string Name, string Value)[] headers)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var request = new FakeProxyRequest("POST", "/proxy/issues") { ContentType = "application/json", Body = bytes, ContentLength = bytes.Length }.With("Authorization", "Bearer " + token);
        foreach (var (name, value) in headers)
        {
            request.With(name, value);
        }

        return request;
    }

    private string ApprovedCallToken() =>
        Token("issues:admin", audience: "urn:tessera:tool:issues", maxUses: 1,
            details: new McpCallDetail("issues", "delete_issue", Convert.ToHexStringLower(SHA256.HashData("{\"number\":7}"u8))).ToJson());

    [Fact]
    public async Task A_token_for_one_approved_mcp_call_lets_that_call_through()
    {
        var proxy = await StartAsync(withCredential: false, config: McpConfig);

        Assert.True((await proxy.AuthorizeAsync(McpPost(ApprovedCallToken(), DeleteIssue))).IsAllowed);
    }

    [Theory]
    [InlineData("Mcp-Param-Number")]
    [InlineData("mcp-param-repo")]
    [InlineData("MCP-PARAM-")]
    public async Task A_token_for_one_approved_mcp_call_refuses_any_mcp_param_header_and_spends_no_use(string header)
    {
        var proxy = await StartAsync(withCredential: false, config: McpConfig);
        var token = ApprovedCallToken();

        // A server reading a parameter from the header could act on a value the approver never saw.
        var refusal = Refused(await proxy.AuthorizeAsync(McpPost(token, DeleteIssue, (header, "8"))));

        Assert.Equal(400, refusal.Status);
        Assert.NotNull(refusal.JsonRpcError);
        AssertDenied(refusal, RefusalCodes.McpParamHeaderWithApproval);
        Assert.True((await proxy.AuthorizeAsync(McpPost(token, DeleteIssue))).IsAllowed);
    }

    [Fact]
    public async Task An_mcp_param_header_is_forwarded_for_a_token_without_an_approved_call()
    {
        var proxy = await StartAsync(withCredential: false, config: McpConfig);
        var token = Token("issues:read", audience: "urn:tessera:tool:issues");
        var getIssue = DeleteIssue.Replace("delete_issue", "get_issue", StringComparison.Ordinal);

        Assert.True((await proxy.AuthorizeAsync(McpPost(token, getIssue, ("Mcp-Param-Number", "8")))).IsAllowed);
    }

    [Fact]
    public async Task A_granted_mcp_request_knows_when_its_token_is_revoked_for_a_stream_that_outlives_the_grant()
    {
        var proxy = await StartAsync(withCredential: false, config: McpConfig);
        var token = Token("issues:read", audience: "urn:tessera:tool:issues");
        var grant = (await proxy.AuthorizeAsync(McpPost(token, DeleteIssue.Replace("delete_issue", "get_issue", StringComparison.Ordinal)))).Grant;

        Assert.Equal(McpTokenEnd.StillValid, grant.Mcp!.TokenEnded());
        _revocations.Apply(new RevocationEntry(RevocationKind.Agent, "support-agent", _core.Time.GetUtcNow(), _core.Time.GetUtcNow().AddMinutes(5)));

        Assert.Equal(McpTokenEnd.Revoked, grant.Mcp.TokenEnded());
    }

    [Fact]
    public async Task A_granted_mcp_request_knows_when_its_token_expires()
    {
        var proxy = await StartAsync(withCredential: false, config: McpConfig);
        var token = Token("issues:read", audience: "urn:tessera:tool:issues", lifetime: 60);
        var grant = (await proxy.AuthorizeAsync(McpPost(token, DeleteIssue.Replace("delete_issue", "get_issue", StringComparison.Ordinal)))).Grant;

        Assert.Equal(_core.Time.GetUtcNow().AddSeconds(60).ToUnixTimeSeconds(), grant.Mcp!.ExpiresAt.ToUnixTimeSeconds());
        _core.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(McpTokenEnd.StillValid, grant.Mcp.TokenEnded());
        _core.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(McpTokenEnd.Expired, grant.Mcp.TokenEnded());
    }

    private static FakeProxyRequest Ledger(string token, string? proof)
    {
        var request = new FakeProxyRequest("GET", "/proxy/ledger/entries/7").With("Authorization", "DPoP " + token);
        return proof is null ? request : request.With("DPoP", proof);
    }

    private string LedgerProof(string token, DpopKey? key = null) =>
        (key ?? _dpopKey).Proof("GET", Issuer + "/proxy/ledger/entries/7", _core.Time.GetUtcNow(), token);

    [Fact]
    public async Task A_bound_token_with_a_proof_of_its_key_is_granted()
    {
        var proxy = await StartAsync();
        var token = Token("ledger:read", audience: "urn:tessera:tool:ledger", jkt: _dpopKey.Thumbprint());

        var verdict = await proxy.AuthorizeAsync(Ledger(token, LedgerProof(token)));

        Assert.True(verdict.IsAllowed);
        Assert.Null(verdict.Grant.Credential);
    }

    [Fact]
    public async Task A_tool_that_requires_dpop_refuses_an_unbound_bearer_token()
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/ledger/entries/7", Token("ledger:read", audience: "urn:tessera:tool:ledger"))));

        Assert.Equal((401, "tool 'ledger' accepts DPoP-bound tokens only"), (refusal.Status, refusal.Detail));
        Assert.StartsWith("DPoP realm=\"tessera\", algs=", Assert.Single(refusal.Challenges!), StringComparison.Ordinal);
        Assert.EndsWith("error=\"invalid_token\", error_description=\"tool 'ledger' accepts DPoP-bound tokens only\"", refusal.Challenges![0], StringComparison.Ordinal);
        AssertDenied(refusal, RefusalCodes.ProxyDpopRequiredByTool);
    }

    [Fact]
    public async Task A_bound_token_presented_as_bearer_is_401()
    {
        var proxy = await StartAsync();
        var token = Token("ledger:read", audience: "urn:tessera:tool:ledger", jkt: _dpopKey.Thumbprint());

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/ledger/entries/7", token)));

        Assert.Equal((401, "the token is DPoP-bound; send it with the DPoP scheme and a proof"), (refusal.Status, refusal.Detail));
        AssertDenied(refusal, RefusalCodes.ProxyDpopBoundAsBearer);
    }

    [Fact]
    public async Task A_bound_token_without_a_proof_or_with_another_keys_proof_is_401_invalid_dpop_proof()
    {
        var proxy = await StartAsync();
        var token = Token("ledger:read", audience: "urn:tessera:tool:ledger", jkt: _dpopKey.Thumbprint());
        using var other = DpopKey.CreateEc();

        var missing = Refused(await proxy.AuthorizeAsync(Ledger(token, null)));
        var wrongKey = Refused(await proxy.AuthorizeAsync(Ledger(token, LedgerProof(token, other))));

        Assert.Equal((401, "a DPoP proof is required with the DPoP scheme"), (missing.Status, missing.Detail));
        Assert.Contains("error=\"invalid_dpop_proof\"", missing.Challenges![0], StringComparison.Ordinal);
        Assert.Equal((401, "the DPoP proof's key is not the key the token is bound to"), (wrongKey.Status, wrongKey.Detail));
        Assert.Equal([RefusalCodes.ProxyDpopProofMissing, RefusalCodes.ProxyDpopKeyMismatch], Events(AuditTypes.ProxyDenied).Select(e => e.Record.ReasonCode));
        Assert.Equal((RefusalCodes.ProxyDpopProofMissing, RefusalCodes.ProxyDpopKeyMismatch), (missing.Code, wrongKey.Code));
    }

    [Fact]
    public async Task An_unbound_token_sent_with_the_dpop_scheme_is_401()
    {
        var proxy = await StartAsync();
        var token = Token("ledger:read", audience: "urn:tessera:tool:ledger");

        var refusal = Refused(await proxy.AuthorizeAsync(Ledger(token, LedgerProof(token))));

        Assert.Equal((401, "the token is not DPoP-bound; send it as Bearer"), (refusal.Status, refusal.Detail));
        AssertDenied(refusal, RefusalCodes.ProxyDpopTokenNotBound);
    }

    [Fact]
    public async Task Two_dpop_proofs_are_401_invalid_dpop_proof()
    {
        var proxy = await StartAsync();
        var token = Token("ledger:read", audience: "urn:tessera:tool:ledger", jkt: _dpopKey.Thumbprint());

        var refusal = Refused(await proxy.AuthorizeAsync(Ledger(token, null).With("DPoP", LedgerProof(token), LedgerProof(token))));

        Assert.Equal((401, "send exactly one DPoP header"), (refusal.Status, refusal.Detail));
        AssertDenied(refusal, RefusalCodes.ProxyDpopSeveralProofs);
    }

    [Fact]
    public async Task A_proof_that_is_not_a_dpop_proof_is_401_invalid_dpop_proof()
    {
        var proxy = await StartAsync();
        var token = Token("ledger:read", audience: "urn:tessera:tool:ledger", jkt: _dpopKey.Thumbprint());

        var refusal = Refused(await proxy.AuthorizeAsync(Ledger(token, "not-a-proof")));

        Assert.Equal(401, refusal.Status);
        Assert.Contains("error=\"invalid_dpop_proof\"", refusal.Challenges![0], StringComparison.Ordinal);
        AssertDenied(refusal, RefusalCodes.ProxyDpopInvalidProof);
    }

    [Fact]
    public async Task A_proof_without_the_servers_nonce_is_401_use_dpop_nonce_when_nonces_are_required()
    {
        var proxy = await StartAsync(config: _config with { Dpop = _config.Dpop with { UseNonce = true } });
        var token = Token("ledger:read", audience: "urn:tessera:tool:ledger", jkt: _dpopKey.Thumbprint());

        var refusal = Refused(await proxy.AuthorizeAsync(Ledger(token, LedgerProof(token))));

        Assert.Equal(401, refusal.Status);
        Assert.Contains("error=\"use_dpop_nonce\"", refusal.Challenges![0], StringComparison.Ordinal);
        AssertDenied(refusal, RefusalCodes.ProxyDpopNonceRequired);
    }

    [Fact]
    public async Task A_basic_credential_instead_of_a_token_is_401_token_missing()
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(new FakeProxyRequest("GET", "/proxy/crm/contacts/1").With("Authorization", "Basic c3VwcG9ydC1hZ2VudDpzZWNyZXQ=")));

        Assert.Equal((401, 2), (refusal.Status, refusal.Challenges!.Length));
        AssertDenied(refusal, RefusalCodes.ProxyTokenMissing);
    }

    [Fact]
    public async Task An_unsigned_token_is_401_token_not_ours()
    {
        var proxy = await StartAsync();
        var signed = Token("crm:read");
        var unsigned = Base64Url("{\"alg\":\"none\",\"typ\":\"at+jwt\"}") + "." + signed.Split('.')[1] + ".";

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", unsigned)));

        Assert.Equal((401, "the token is not signed by this Tessera"), (refusal.Status, refusal.Detail));
        Assert.Null(AssertDenied(refusal, RefusalCodes.ProxyTokenNotOurs).Agent);
    }

    [Fact]
    public async Task A_percent_encoded_tool_id_is_not_decoded_into_a_known_tool()
    {
        var proxy = await StartAsync();

        var refusal = Refused(await proxy.AuthorizeAsync(Get("/proxy/c%72m/contacts/1", Token("crm:read"))));

        Assert.Equal(404, refusal.Status);
        AssertDenied(refusal, RefusalCodes.ProxyToolUnknown);
    }

    [Fact]
    public async Task Refused_requests_spend_no_use_and_the_spent_token_is_refused_by_its_own_rule()
    {
        var proxy = await StartAsync();
        var token = Token("crm:read", maxUses: 1);

        var ambiguous = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/..%2Fexports", token)));
        var forbidden = Refused(await proxy.AuthorizeAsync(new FakeProxyRequest("DELETE", "/proxy/crm/contacts/1").With("Authorization", "Bearer " + token)));
        var allowed = await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", token));
        var spent = Refused(await proxy.AuthorizeAsync(Get("/proxy/crm/contacts/1", token)));

        Assert.True(allowed.IsAllowed);
        Assert.Equal([RefusalCodes.ProxyPathAmbiguous, RefusalCodes.ProxyRuleNotMatched, RefusalCodes.ProxyUsesSpent], [ambiguous.Code, forbidden.Code, spent.Code]);
        Assert.Equal([ambiguous.Code, forbidden.Code, spent.Code], Events(AuditTypes.ProxyDenied).Select(e => e.Record.ReasonCode));
    }

    [Theory]
    [InlineData("GET", "Content-Length")]
    [InlineData("DELETE", "Content-Length")]
    [InlineData("GET", "Transfer-Encoding")]
    [InlineData("DELETE", "Transfer-Encoding")]
    public async Task A_GET_or_DELETE_to_an_MCP_tool_carrying_a_body_is_400_and_the_body_is_never_read(string method, string framing)
    {
        // GET and DELETE need no rule, so a JSON-RPC call in their body would reach the server unchecked.
        var proxy = await StartAsync();
        var request = new FakeProxyRequest(method, "/proxy/issues").With("Authorization", "Bearer " + Token("issues:read", audience: "urn:tessera:tool:issues"));
        request.Body = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_repo"}}"""u8.ToArray();
        if (framing == "Content-Length")
        {
            request.ContentLength = request.Body.Length;
        }
        else
        {
            request.With("Transfer-Encoding", "chunked");
        }

        var refusal = Refused(await proxy.AuthorizeAsync(request));

        Assert.Equal(400, refusal.Status);
        var denied = AssertDenied(refusal, "mcp.body_not_allowed");
        Assert.Equal(method, denied.Method);
        Assert.Equal(0, request.BodyReads);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task A_GET_or_DELETE_to_an_MCP_tool_without_a_body_or_with_an_empty_one_is_the_session_lifecycle(string method)
    {
        var proxy = await StartAsync();
        var token = Token("issues:read", audience: "urn:tessera:tool:issues");

        var bare = await proxy.AuthorizeAsync(new FakeProxyRequest(method, "/proxy/issues").With("Authorization", "Bearer " + token));
        var empty = await proxy.AuthorizeAsync(new FakeProxyRequest(method, "/proxy/issues") { ContentLength = 0 }.With("Authorization", "Bearer " + token));

        Assert.True(bare.IsAllowed);
        Assert.True(empty.IsAllowed);
        Assert.Equal(2, Events(AuditTypes.ProxyForwarded).Count);
    }

    private static string Base64Url(string json) => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData(413, false, RefusalCodes.ProxyBodyTooLarge)]
    [InlineData(400, false, RefusalCodes.ProxyBodyUnreadable)]
    [InlineData(null, true, RefusalCodes.ProxyUpstreamTimeout)]
    [InlineData(null, false, RefusalCodes.ProxyUpstreamFailed)]
    public void A_failed_forward_is_coded_by_whose_failure_it_was(int? clientStatus, bool timedOut, string code) =>
        Assert.Equal(code, ProxyService.FailureCode(clientStatus, timedOut));

    public async ValueTask DisposeAsync()
    {
        _vault?.Dispose();
        _dpopKey.Dispose();
        await _core.DisposeAsync();
    }
}
