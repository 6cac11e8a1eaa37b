namespace Tessera.Core.Tests.Tokens;

/// <summary>Sign, record, answer: the one path every issued token takes, over the in-memory audit store.</summary>
public sealed class TokenIssuerTests : IAsyncDisposable
{
    private readonly CoreHarness _core = new();
    private readonly TesseraConfig _config = ConfigLoader.Load("""
        tokens:
          default_ttl: 5m
          max_ttl: 1h
        """, "tessera.yaml", Path.GetTempPath());

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<TokenIssuer> StartAsync()
    {
        await _core.StartAsync(_config, initializeKeys: true, Ct);
        return new TokenIssuer(_core.Keys, _core.Log);
    }

    private AccessTokenClaims Claims(string? jkt = null)
    {
        var now = _core.Time.GetUtcNow();
        return new AccessTokenClaims
        {
            Issuer = _config.Server.Issuer,
            Subject = "support-agent",
            Audience = "https://crm.example",
            ClientId = "support-agent",
            Scope = ScopeSet.Of(["crm:read", "crm:write"]),
            Jti = TokenService.NewId(),
            IssuedAt = now.ToUnixTimeSeconds(),
            ExpiresAt = (now + TimeSpan.FromMinutes(5)).ToUnixTimeSeconds(),
            Jkt = jkt,
        };
    }

    private static AuditRecord Record(AccessTokenClaims claims) => new()
    {
        Type = AuditTypes.TokenIssued,
        Outcome = AuditOutcomes.Allowed,
        Agent = claims.ClientId,
        Jti = claims.Jti,
        Reason = GrantTypes.ClientCredentials,
    };

    private MissionStarted Mission() =>
        new(new MissionRecord("m_1", "alice", "corp", ["support-agent"], null, _core.Time.GetUtcNow(), _core.Time.GetUtcNow().AddMinutes(5)));

    private IReadOnlyList<AuditEvent> Issued() => [.. _core.AuditStore.Events.Where(e => e.Record.Type == AuditTypes.TokenIssued)];

    [Fact]
    public async Task An_issued_token_is_signed_by_the_current_key_and_answered_with_its_lifetime_and_scope()
    {
        var issuer = await StartAsync();
        var claims = Claims();

        var result = await issuer.IssueAsync(claims, Record(claims), [], null, Ct);

        Assert.True(result.Succeeded);
        var response = result.Value!;
        Assert.Equal("Bearer", response.TokenType);
        Assert.Equal(300, response.ExpiresIn);
        Assert.Equal("crm:read crm:write", response.Scope);
        Assert.Null(response.IssuedTokenType);

        // Valid for the validator the proxy uses: signed by a published key, for an agent it knows,
        // with scopes that agent and its tool still allow.
        var crm = new ToolOptions
        {
            Id = "crm",
            Audience = "https://crm.example",
            Scopes = new Dictionary<string, ToolScopeOptions> { ["read"] = new(["GET /*"], null), ["write"] = new(["POST /*"], null) },
        };
        var validator = new AccessTokenValidator(_core.Keys, new RevocationIndex(), LiveConfig.Of(_config with { Tools = [crm], Agents = [new AgentOptions
        {
            Id = "support-agent",
            Owner = "support-platform@corp.example",
            Purpose = "Answer customer tickets",
            Expires = _core.Time.GetUtcNow().AddMonths(6),
            Auth = new AgentAuthOptions(),
            AllowedScopes = ["crm:read", "crm:write"],
        }] }, _core.Time), _core.Time);
        var validation = await validator.ValidateAsync(response.AccessToken, Ct);
        Assert.True(validation.IsActive, validation.Status.ToString());
        Assert.Equal(claims.Jti, validation.Claims!.Jti);
        Assert.Equal(claims.Scope, validation.Claims.Scope);
    }

    [Fact]
    public async Task A_token_bound_to_a_dpop_key_is_answered_as_dpop_with_the_issued_token_type_asked_for()
    {
        var issuer = await StartAsync();
        var claims = Claims(jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");

        var result = await issuer.IssueAsync(claims, Record(claims), [], TokenTypes.AccessToken, Ct);

        Assert.Equal("DPoP", result.Value!.TokenType);
        Assert.Equal(TokenTypes.AccessToken, result.Value.IssuedTokenType);
    }

    [Fact]
    public async Task The_issuance_is_on_record_with_its_state_changes_when_the_token_is_answered()
    {
        var issuer = await StartAsync();
        var claims = Claims();
        var started = Mission();

        var result = await issuer.IssueAsync(claims, Record(claims), [started], null, Ct);

        Assert.True(result.Succeeded);
        var recorded = Assert.Single(Issued());
        Assert.Equal(claims.Jti, recorded.Record.Jti);
        Assert.Contains(started, _core.AuditStore.Changes);
    }

    [Fact]
    public async Task A_failed_audit_write_fails_closed_with_server_error_and_nothing_on_record()
    {
        var issuer = await StartAsync();
        var claims = Claims();
        var started = Mission();
        _core.AuditStore.FailNext = MemoryAuditStore.Failure.BeforeWrite;

        var result = await issuer.IssueAsync(claims, Record(claims), [started], null, Ct);

        Assert.False(result.Succeeded);
        Assert.Same(OAuthError.ServerError, result.Error);
        Assert.Null(result.Value);
        Assert.Empty(Issued());
        Assert.DoesNotContain(started, _core.AuditStore.Changes);
    }

    public ValueTask DisposeAsync() => _core.DisposeAsync();
}
