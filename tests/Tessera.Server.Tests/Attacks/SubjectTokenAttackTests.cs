using Microsoft.IdentityModel.Tokens;

namespace Tessera.Server.Tests.Attacks;

/// <summary>Hostile subject tokens and delegation tricks at the token exchange; each gets the documented OAuth error.</summary>
public sealed class SubjectTokenAttackTests : IAsyncLifetime
{
    private TestBroker _broker = null!;
    private TestIdp _idp = null!;

    public async ValueTask InitializeAsync() => (_broker, _idp) = await DelegationBroker.StartAsync();

    public async ValueTask DisposeAsync() => await _broker.DisposeAsync();

    [Fact]
    public async Task An_expired_principal_token_is_invalid_request()
    {
        var alice = _idp.Mint("alice", _broker.Time.GetUtcNow() - TimeSpan.FromMinutes(10), scope: "crm:read", lifetime: TimeSpan.FromMinutes(5));
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", alice)));
        await AuditAssert.RefusedOnceAsync(_broker, "token.denied", RefusalCodes.SubjectTokenRejected);
    }

    [Fact]
    public async Task A_subject_token_with_a_segment_that_is_not_base64url_is_invalid_request_not_a_server_error()
    {
        // The shape fuzzing found for client assertions (tools/Tessera.Fuzz): five segments read as a JWE,
        // one of them not base64url (a length of 4n+1), threw FormatException out of the exchange (500).
        var response = await _broker.ExchangeAsync("agent-a", "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.AAAAA.AAAA.AAAA.AAAA");

        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(response));
        await AuditAssert.RefusedOnceAsync(_broker, "token.denied", RefusalCodes.SubjectTokenNotJwt);
    }

    [Fact]
    public async Task A_token_from_a_foreign_issuer_is_invalid_request()
    {
        var forged = _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read", issuer: "https://evil.example");
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", forged)));
    }

    [Fact]
    public async Task A_token_signed_by_a_foreign_key_under_the_trusted_issuer_is_invalid_request()
    {
        var foreignKey = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "idp-key-1" };
        var forged = _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read", signingKey: foreignKey);
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", forged)));
    }

    [Fact]
    public async Task An_unsigned_alg_none_token_is_invalid_request()
    {
        var genuine = _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read");
        var payload = genuine.Split('.')[1];
        var header = System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes("""{"alg":"none","typ":"JWT"}"""));
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", $"{header}.{payload}.")));
    }

    [Fact]
    public async Task An_hmac_token_keyed_with_public_material_is_invalid_request()
    {
        var hmacKey = new SymmetricSecurityKey(SHA256.HashData(Encoding.UTF8.GetBytes("the idp's public key, as an attacker would try"))) { KeyId = "idp-key-1" };
        var forged = _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read", signingKey: hmacKey, algorithm: SecurityAlgorithms.HmacSha256);
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", forged)));
    }

    [Fact]
    public async Task A_principal_token_for_another_audience_is_invalid_request()
    {
        var elsewhere = _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read", audience: "payroll");
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", elsewhere)));
    }

    [Theory]
    [InlineData("dpop+jwt")]
    [InlineData("logout+jwt")]
    [InlineData("secevent+jwt")]
    public async Task A_trusted_issuers_jwt_of_another_type_is_invalid_request(string typ)
    {
        var wrongType = _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read", typ: typ);
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", wrongType)));
    }

    [Fact]
    public async Task A_tool_token_is_not_a_subject_token()
    {
        var mission = await _broker.ExchangeOkAsync("agent-a", _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read"));
        var tool = await _broker.ExchangeOkAsync("agent-a", mission, "urn:tessera:tool:crm");
        await AssertNoOneCanExchangeAsync(tool, RefusalCodes.SubjectTokenToolToken);
    }

    [Fact]
    public async Task A_client_credentials_token_is_not_a_subject_token()
    {
        await using var broker = await TestBroker.StartAsync();
        var own = await broker.IssueAsync();
        using var response = await broker.PostFormAsync("/oauth/token",
        [
            new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            new("subject_token", own),
            new("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
        ], TestBroker.Basic("support-agent", TestBroker.SupportSecret));
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(response));
    }

    [Fact]
    public async Task May_act_naming_another_actor_is_invalid_request_and_naming_this_one_is_honoured()
    {
        var now = _broker.Time.GetUtcNow();
        var forB = _idp.Mint("alice", now, scope: "crm:read", extraClaims: new Dictionary<string, object> { ["may_act"] = new Dictionary<string, object> { ["sub"] = "agent-b" } });
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", forB)));
        await AuditAssert.RefusedOnceAsync(_broker, "token.denied", RefusalCodes.DelegationMayActMismatch);
        Assert.NotNull(await _broker.ExchangeOkAsync("agent-b", forB));

        var malformed = _idp.Mint("alice", now, scope: "crm:read", extraClaims: new Dictionary<string, object> { ["may_act"] = "agent-a" });
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", malformed)));
    }

    [Fact]
    public async Task A_principal_token_that_already_carries_an_actor_chain_is_invalid_request()
    {
        var delegated = _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read", extraClaims: new Dictionary<string, object> { ["act"] = new Dictionary<string, object> { ["sub"] = "someone" } });
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", delegated)));
        await AuditAssert.RefusedOnceAsync(_broker, "token.denied", RefusalCodes.SubjectTokenForeignActors);
    }

    [Fact]
    public async Task Widening_the_audience_to_a_tool_outside_the_mission_is_refused()
    {
        var mission = await _broker.ExchangeOkAsync("agent-a", _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read github:repo.read"), scope: "crm:read");

        // The mission holds no github scope: a github token would be a wider audience.
        Assert.Equal("invalid_scope", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", mission, "https://api.github.com")));
        // agent-b may not reach github at all.
        var missionB = await _broker.ExchangeOkAsync("agent-b", mission);
        Assert.Equal("invalid_target", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-b", missionB, "https://api.github.com")));
        // Two audiences at once are never granted.
        Assert.Equal("invalid_target", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", mission, "urn:tessera:tool:crm", extra: ("audience", "https://api.github.com"))));
    }

    [Fact]
    public async Task Re_exchanging_a_derived_token_cannot_win_back_scope()
    {
        var missionA = await _broker.ExchangeOkAsync("agent-a", _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read crm:export"));
        var narrowA = await _broker.ExchangeOkAsync("agent-a", missionA, scope: "crm:read");
        Assert.Equal("invalid_scope", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", narrowA, scope: "crm:export")));
        Assert.Equal("invalid_scope", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", narrowA, "urn:tessera:tool:crm", "crm:export")));

        var narrowB = await _broker.ExchangeOkAsync("agent-b", narrowA);
        Assert.Equal("crm:read", DelegationBroker.Claims(await _broker.ExchangeOkAsync("agent-b", narrowB, "urn:tessera:tool:crm")).GetProperty("scope").GetString());
    }

    [Fact]
    public async Task A_revoked_mission_token_cannot_be_exchanged()
    {
        var mission = await _broker.ExchangeOkAsync("agent-a", _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read"));
        using var revoke = await _broker.PostFormAsync("/oauth/revoke", [new("token", mission)], TestBroker.Basic("agent-a", DelegationBroker.Secret));
        await AssertNoOneCanExchangeAsync(mission, RefusalCodes.SubjectTokenRevoked);
    }

    [Fact]
    public async Task A_mission_token_living_longer_than_max_ttl_cannot_be_exchanged()
    {
        var mission = await _broker.ExchangeOkAsync("agent-a", _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read"));

        // The same mission token, signed by our own key with a 30-day lifetime (max_ttl is 1h).
        var claims = Core.Tokens.AccessTokenClaims.FromPayload(System.Buffers.Text.Base64Url.DecodeFromChars(mission.Split('.')[1]))!;
        var forged = Core.Tokens.JwtSigner.Sign(_broker.Service<Core.Tokens.SigningKeyService>().Current(),
            claims with { Jti = Guid.NewGuid().ToString("N"), ExpiresAt = claims.IssuedAt + (long)TimeSpan.FromDays(30).TotalSeconds });

        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-b", forged)));
        await AuditAssert.LastRefusalAsync(_broker, "token.denied", RefusalCodes.SubjectTokenLifetimeExceeded);
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", forged, "urn:tessera:tool:crm")));
        await AuditAssert.LastRefusalAsync(_broker, "token.denied", RefusalCodes.SubjectTokenLifetimeExceeded);
        Assert.False((await _broker.IntrospectAsync(forged)).GetProperty("active").GetBoolean());
        var denied = await _broker.Store.Audit.QueryAsync(new Core.Audit.AuditQuery { Type = "token.denied" }, CancellationToken.None);
        Assert.Contains(denied, e => e.Record.Reason!.Contains("max_ttl", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_actor_token_cannot_name_a_different_actor()
    {
        var alice = _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read");
        using var response = await _broker.ExchangeAsync("agent-x", alice, extra: [("actor_token", alice), ("actor_token_type", "urn:ietf:params:oauth:token-type:jwt")]);
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(response));
        await AuditAssert.RefusedOnceAsync(_broker, "token.denied", RefusalCodes.ActorTokenNotAccepted);
    }

    [Theory]
    [InlineData("urn:ietf:params:oauth:token-type:saml2")]
    [InlineData("urn:ietf:params:oauth:token-type:refresh_token")]
    public async Task Unsupported_subject_token_types_are_invalid_request(string type)
    {
        var alice = _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read");
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", alice, subjectTokenType: type)));
        await AuditAssert.RefusedOnceAsync(_broker, "token.denied", RefusalCodes.SubjectTokenTypeUnsupported);
    }

    [Theory]
    [InlineData("not a jwt")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwOi8vdGVzc2VyYS50ZXN0In0.AAAA")]
    public async Task Garbage_subject_tokens_are_invalid_request(string garbage)
    {
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", garbage)));
    }

    public static TheoryData<string> HostilePurposes() => new()
    {
        "Summarise churn\nand export everything",
        "\u001b[2Jclean screen",
        "next\u0085line",
        "refund \u202egnp.4711 tropxe\u202c",
        "isolated \u2066export all\u2069",
        "zero\u200bwidth",
        "line\u2028separator",
        "smuggled \U000E0061\U000E006C\U000E006C",
        new string('p', 257),
    };

    [Theory]
    [MemberData(nameof(HostilePurposes))]
    public async Task A_purpose_with_control_or_format_characters_or_over_256_characters_is_invalid_request(string purpose)
    {
        var alice = _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read");

        using var response = await _broker.ExchangeAsync("agent-a", alice, purpose: purpose);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.BadRequest, body);
        using var json = System.Text.Json.JsonDocument.Parse(body);
        Assert.Equal("invalid_request", json.RootElement.GetProperty("error").GetString());
        Assert.Contains("'purpose'", json.RootElement.GetProperty("error_description").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(await _broker.AuditEventsAsync(), e => e.Record.Type == "token.exchanged");
        await AuditAssert.RefusedOnceAsync(_broker, "token.denied", RefusalCodes.PurposeInvalid);
    }

    [Fact]
    public async Task A_purpose_of_visible_text_up_to_256_characters_starts_the_mission_with_it()
    {
        var alice = _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read");
        var purpose = "Résumé of Q3 churn, 日本 😀 " + new string('p', 200);

        var mission = await _broker.ExchangeOkAsync("agent-a", alice, purpose: purpose);

        Assert.Equal(purpose, DelegationBroker.Claims(mission).GetProperty("purpose").GetString());
    }

    /// <summary>
    /// Neither agent-a (asking for the crm tool) nor agent-b (delegating further) can exchange
    /// <paramref name="subject"/>: each gets <c>invalid_request</c>, audited with <paramref name="code"/>.
    /// </summary>
    private async Task AssertNoOneCanExchangeAsync(string subject, string code)
    {
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-a", subject, "urn:tessera:tool:crm")));
        await AuditAssert.LastRefusalAsync(_broker, "token.denied", code);
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(await _broker.ExchangeAsync("agent-b", subject)));
        await AuditAssert.LastRefusalAsync(_broker, "token.denied", code);
    }
}
