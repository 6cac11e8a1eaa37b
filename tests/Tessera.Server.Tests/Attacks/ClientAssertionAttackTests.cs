using System.Buffers.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Server.Tests.Attacks;

/// <summary>
/// Attacks on <c>private_key_jwt</c> (RFC 7523): unsigned, symmetric and foreign-key assertions,
/// replay, stale or long-lived assertions, and confusion over issuer, subject, audience and client id.
/// </summary>
public sealed class ClientAssertionAttackTests : IAsyncLifetime
{
    private const string ClientId = "jwt-agent";
    private const string KeyId = "jwt-agent-key-1";
    private const string TokenEndpoint = TestBroker.Issuer + "/oauth/token";
    private const string JwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private TestBroker _broker = null!;

    /// <summary>A broker where jwt-agent's registered key is <see cref="_key"/>.</summary>
    public async ValueTask InitializeAsync() => _broker = await StartWithKeyAsync(_key);

    public async ValueTask DisposeAsync()
    {
        await _broker.DisposeAsync();
        _key.Dispose();
    }

    private static async Task<TestBroker> StartWithKeyAsync(ECDsa key)
    {
        using var publicOnly = ECDsa.Create(key.ExportParameters(includePrivateParameters: false));
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(publicOnly) { KeyId = KeyId });
        Assert.False(jwk.HasPrivateKey);
        Assert.Null(jwk.D);
        var jwks = JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = jwk.Kty, crv = jwk.Crv, x = jwk.X, y = jwk.Y, kid = KeyId, use = "sig", alg = "ES256" } },
        });

        return await TestBroker.StartAsync(TestBroker.DefaultYaml($$"""
              - id: {{ClientId}}
                owner: platform@corp.example
                purpose: Sign in with a key, not a secret
                expires: 2027-06-30
                auth:
                  jwks: {{jwks}}
                allowed_scopes: [ "crm:read" ]
            """));
    }

    [Fact]
    public async Task An_assertion_spent_before_a_restart_is_still_refused_after_it()
    {
        var assertion = Assertion(_broker, Credentials(_key));
        var forIntrospection = Assertion(_broker, Credentials(_key));
        using (var first = await PostAsync(_broker, assertion))
        {
            await OAuthAssert.TokenAsync(first);
        }

        var token = await _broker.IssueAsync();
        using (var introspect = await _broker.PostFormAsync("/oauth/introspect",
        [
            new("token", token),
            new("client_assertion_type", JwtBearer),
            new("client_assertion", forIntrospection),
        ]))
        {
            Assert.Equal(HttpStatusCode.OK, introspect.StatusCode);
        }

        _broker = await _broker.RestartAsync();

        using var replayed = await PostAsync(_broker, assertion);
        await OAuthAssert.ErrorAsync(replayed, HttpStatusCode.Unauthorized, "invalid_client");
        using var replayedAtIntrospection = await _broker.PostFormAsync("/oauth/introspect",
        [
            new("token", token),
            new("client_assertion_type", JwtBearer),
            new("client_assertion", forIntrospection),
        ]);
        await OAuthAssert.ErrorAsync(replayedAtIntrospection, HttpStatusCode.Unauthorized, "invalid_client");

        // A fresh assertion still works: only the spent ones are remembered.
        using var fresh = await PostAsync(_broker, Assertion(_broker, Credentials(_key)));
        await OAuthAssert.TokenAsync(fresh);
    }

    private static SigningCredentials Credentials(ECDsa key) =>
        new(new ECDsaSecurityKey(key) { KeyId = KeyId }, SecurityAlgorithms.EcdsaSha256);

    /// <summary>A well-formed assertion stamped with the broker's clock; <paramref name="tweak"/> breaks one thing.</summary>
    private static string Assertion(TestBroker broker, SigningCredentials credentials, Action<SecurityTokenDescriptor>? tweak = null)
    {
        var now = broker.Time.GetUtcNow().UtcDateTime;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = ClientId,
            Audience = TokenEndpoint,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(1),
            Claims = new Dictionary<string, object>
            {
                ["sub"] = ClientId,
                ["jti"] = Guid.NewGuid().ToString("N"),
            },
            SigningCredentials = credentials,
        };
        tweak?.Invoke(descriptor);
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    /// <summary>
    /// Sends the broker one assertion signed with the registered key and changed by
    /// <paramref name="tweak"/> (given the broker's now); asserts <c>invalid_client</c> and, when
    /// <paramref name="code"/> is given, the one audited refusal with that reason.
    /// </summary>
    private async Task AssertInvalidClientAsync(Action<SecurityTokenDescriptor, DateTime> tweak, string? code = null)
    {
        var now = _broker.Time.GetUtcNow().UtcDateTime;

        using var response = await PostAsync(_broker, Assertion(_broker, Credentials(_key), d => tweak(d, now)));

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        if (code is not null)
        {
            await AuditAssert.RefusedOnceAsync(_broker, "token.denied", code);
        }
    }

    private static Task<HttpResponseMessage> PostAsync(TestBroker broker, string assertion, string? clientId = null, string assertionType = JwtBearer)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "client_credentials"),
            new("client_assertion_type", assertionType),
            new("client_assertion", assertion),
            new("scope", "crm:read"),
        };
        if (clientId is not null)
        {
            form.Add(new("client_id", clientId));
        }

        return broker.PostFormAsync("/oauth/token", form);
    }

    private static Dictionary<string, object> Claims(TestBroker broker)
    {
        var now = broker.Time.GetUtcNow().ToUnixTimeSeconds();
        return new Dictionary<string, object>
        {
            ["iss"] = ClientId,
            ["sub"] = ClientId,
            ["aud"] = TokenEndpoint,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + 60,
        };
    }

    [Fact]
    public async Task Hand_signed_assertion_is_accepted_so_the_hand_signed_attacks_below_are_meaningful()
    {
        using var response = await PostAsync(_broker, HandSignedJwt.Es256(_key, new { alg = "ES256", kid = KeyId, typ = "JWT" }, Claims(_broker)));

        await OAuthAssert.TokenAsync(response);
    }

    /// <summary>
    /// Time claims no clock can reach, or that overflow once the clock skew is applied. A far-past
    /// <c>nbf</c> is harmless (the assertion is valid since long ago); everything else is refused.
    /// </summary>
    public static TheoryData<string, object, bool> OutOfRangeTimes() => new()
    {
        { "exp", long.MaxValue, true },
        { "exp", 253402300799L, true },     // 9999-12-31T23:59:59Z: adding the clock skew overflowed
        { "exp", long.MinValue, true },
        { "exp", -62135596800L, true },     // 0001-01-01
        { "exp", 1e300, true },
        { "exp", "tomorrow", true },
        { "exp", true, true },
        { "nbf", long.MaxValue, true },
        { "nbf", 253402300799L, true },
        { "nbf", 1e300, true },
        { "nbf", long.MinValue, false },
        { "nbf", -62135596800L, false },    // subtracting the clock skew underflowed
    };

    [Theory]
    [MemberData(nameof(OutOfRangeTimes))]
    public async Task Signed_assertion_with_an_absurd_time_claim_never_causes_a_server_error(string claim, object value, bool refused)
    {
        var claims = Claims(_broker);
        claims[claim] = value;

        using var response = await PostAsync(_broker, HandSignedJwt.Es256(_key, new { alg = "ES256", kid = KeyId }, claims));

        if (refused)
        {
            await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        }
        else
        {
            await OAuthAssert.TokenAsync(response);
        }
    }

    [Fact]
    public async Task Assertion_with_a_segment_that_is_not_base64url_is_invalid_client_not_a_server_error()
    {
        // Found by fuzzing (tools/Tessera.Fuzz, client-assertion): five segments read as a JWE, one of them
        // not base64url (a length of 4n+1), threw FormatException out of the token endpoint (500).
        using var response = await PostAsync(_broker, "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.AAAAA.AAAA.AAAA.AAAA", ClientId);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task Assertion_carrying_its_own_key_in_the_header_is_invalid_client()
    {
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = attacker.ExportParameters(false);
        var embedded = new { kty = "EC", crv = "P-256", x = Base64Url.EncodeToString(p.Q.X), y = Base64Url.EncodeToString(p.Q.Y), kid = KeyId };

        using var jwk = await PostAsync(_broker, HandSignedJwt.Es256(attacker, new { alg = "ES256", kid = KeyId, jwk = embedded }, Claims(_broker)));
        using var jku = await PostAsync(_broker, HandSignedJwt.Es256(attacker, new { alg = "ES256", kid = KeyId, jku = "http://evil.example/jwks.json" }, Claims(_broker)));

        await OAuthAssert.ErrorAsync(jwk, HttpStatusCode.Unauthorized, "invalid_client");
        await OAuthAssert.ErrorAsync(jku, HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Theory]
    [InlineData(TokenEndpoint)]
    [InlineData(TestBroker.Issuer)]
    public async Task Valid_assertion_for_either_accepted_audience_gets_a_token(string audience)
    {
        using var response = await PostAsync(_broker, Assertion(_broker, Credentials(_key), d => d.Audience = audience));

        var token = await OAuthAssert.TokenAsync(response);
        var jwt = new JsonWebToken(token);
        Assert.Equal(ClientId, jwt.GetClaim("client_id").Value);
    }

    [Fact]
    public async Task Valid_assertion_with_a_matching_client_id_parameter_gets_a_token()
    {
        using var response = await PostAsync(_broker, Assertion(_broker, Credentials(_key)), clientId: ClientId);

        await OAuthAssert.TokenAsync(response);
    }

    [Fact]
    public async Task Unsigned_assertion_with_alg_none_is_invalid_client()
    {
        var now = _broker.Time.GetUtcNow().ToUnixTimeSeconds();
        var payload = HandSignedJwt.Encode(new { iss = ClientId, sub = ClientId, aud = TokenEndpoint, jti = Guid.NewGuid().ToString("N"), iat = now, nbf = now, exp = now + 60 });

        foreach (var header in new object[] { new { alg = "none" }, new { alg = "none", typ = "JWT", kid = KeyId }, new { alg = "None" }, new { alg = "" } })
        {
            using var response = await PostAsync(_broker, HandSignedJwt.Encode(header) + "." + payload + ".");
            await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        }
    }

    [Fact]
    public async Task Assertion_signed_with_hs256_is_invalid_client_whatever_the_symmetric_key()
    {
        // Algorithm confusion: the "secret" is the registered public key, which the attacker knows.
        var publicKey = _key.ExportSubjectPublicKeyInfo();
        var symmetricKeys = new[] { RandomNumberGenerator.GetBytes(32), publicKey, SHA256.HashData(publicKey) };
        foreach (var secret in symmetricKeys)
        {
            var credentials = new SigningCredentials(new SymmetricSecurityKey(secret) { KeyId = KeyId }, SecurityAlgorithms.HmacSha256);
            using var response = await PostAsync(_broker, Assertion(_broker, credentials));
            await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        }
    }

    [Fact]
    public async Task Assertion_signed_by_an_unregistered_key_is_invalid_client_even_with_the_registered_kid()
    {
        using var foreign = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        using var response = await PostAsync(_broker, Assertion(_broker, Credentials(foreign)));

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task Assertion_with_a_tampered_payload_is_invalid_client()
    {
        var parts = Assertion(_broker, Credentials(_key)).Split('.');
        var now = _broker.Time.GetUtcNow().ToUnixTimeSeconds();
        var forged = HandSignedJwt.Encode(new { iss = ClientId, sub = ClientId, aud = TokenEndpoint, jti = "forged", iat = now, nbf = now, exp = now + 60 });

        using var response = await PostAsync(_broker, parts[0] + "." + forged + "." + parts[2]);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task Replayed_assertion_is_refused_the_second_time()
    {
        var assertion = Assertion(_broker, Credentials(_key));

        using var first = await PostAsync(_broker, assertion);
        using var second = await PostAsync(_broker, assertion);

        await OAuthAssert.TokenAsync(first);
        await OAuthAssert.ErrorAsync(second, HttpStatusCode.Unauthorized, "invalid_client");
        await AuditAssert.RefusedOnceAsync(_broker, "token.denied", RefusalCodes.AssertionReplayed);
    }

    [Fact]
    public async Task Same_assertion_sent_concurrently_is_accepted_exactly_once()
    {
        var assertion = Assertion(_broker, Credentials(_key));

        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => PostAsync(_broker, assertion)));

        try
        {
            Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
            Assert.Equal(15, responses.Count(r => r.StatusCode == HttpStatusCode.Unauthorized));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task Secret_authentication_for_an_agent_registered_only_with_keys_is_refused_like_an_unknown_client()
    {
        using var unknown = await _broker.ClientCredentialsAsync("no-such-agent", "whatever", ("scope", "crm:read"));

        using var response = await _broker.ClientCredentialsAsync(ClientId, "whatever", ("scope", "crm:read"));

        Assert.Equal(
            await OAuthAssert.ErrorAsync(unknown, HttpStatusCode.Unauthorized, "invalid_client"),
            await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client"));
    }

    [Fact]
    public async Task Reused_jti_in_a_freshly_signed_assertion_is_refused()
    {
        using var first = await PostAsync(_broker, Assertion(_broker, Credentials(_key), d => d.Claims["jti"] = "same-jti"));
        _broker.Time.Advance(TimeSpan.FromSeconds(10));
        using var second = await PostAsync(_broker, Assertion(_broker, Credentials(_key), d => d.Claims["jti"] = "same-jti"));

        await OAuthAssert.TokenAsync(first);
        await OAuthAssert.ErrorAsync(second, HttpStatusCode.Unauthorized, "invalid_client");
        await AuditAssert.RefusedOnceAsync(_broker, "token.denied", RefusalCodes.AssertionReplayed);
    }

    [Fact]
    public async Task Assertion_expired_more_than_the_clock_skew_ago_is_invalid_client() =>
        await AssertInvalidClientAsync((d, now) =>
        {
            d.IssuedAt = now.AddMinutes(-3);
            d.NotBefore = now.AddMinutes(-3);
            d.Expires = now.AddSeconds(-61);
        });

    [Fact]
    public async Task Assertion_presented_after_the_clock_moved_past_expiry_and_skew_is_invalid_client()
    {
        var assertion = Assertion(_broker, Credentials(_key));

        _broker.Time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(61));
        using var response = await PostAsync(_broker, assertion);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task Assertion_living_longer_than_five_minutes_is_invalid_client()
    {
        var now = _broker.Time.GetUtcNow().UtcDateTime;

        using var fiveMinutes = await PostAsync(_broker, Assertion(_broker, Credentials(_key), d => d.Expires = now.AddMinutes(5)));
        using var tenMinutes = await PostAsync(_broker, Assertion(_broker, Credentials(_key), d => d.Expires = now.AddMinutes(10)));
        using var oneDay = await PostAsync(_broker, Assertion(_broker, Credentials(_key), d => d.Expires = now.AddDays(1)));

        await OAuthAssert.TokenAsync(fiveMinutes);
        await OAuthAssert.ErrorAsync(tenMinutes, HttpStatusCode.Unauthorized, "invalid_client");
        await OAuthAssert.ErrorAsync(oneDay, HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task Assertion_not_valid_yet_is_invalid_client() =>
        await AssertInvalidClientAsync((d, now) =>
        {
            d.IssuedAt = now.AddMinutes(2);
            d.NotBefore = now.AddMinutes(2);
            d.Expires = now.AddMinutes(3);
        });

    [Fact]
    public async Task Assertion_whose_subject_is_not_its_issuer_is_invalid_client()
    {
        await AssertInvalidClientAsync((d, _) => d.Claims["sub"] = "support-agent");
        await AssertInvalidClientAsync((d, _) => d.Claims.Remove("sub"));
    }

    [Theory]
    [InlineData("http://tessera.test/oauth/introspect")]
    [InlineData("http://evil.example/oauth/token")]
    [InlineData("https://tessera.test/oauth/token")]
    [InlineData("http://tessera.test/oauth")]
    [InlineData("http://tessera.test.evil.example")]
    [InlineData("http://tessera.test/oauth/token/")]
    [InlineData("http://tessera.test/")]
    [InlineData("tessera")]
    public async Task Assertion_for_another_audience_is_invalid_client(string audience) =>
        await AssertInvalidClientAsync((d, _) => d.Audience = audience);

    [Fact]
    public async Task Client_id_parameter_naming_another_client_than_the_assertion_issuer_is_invalid_client()
    {
        using var response = await PostAsync(_broker, Assertion(_broker, Credentials(_key)), clientId: "support-agent");

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        await AuditAssert.RefusedOnceAsync(_broker, "token.denied", RefusalCodes.AssertionIssuerMismatch);
    }

    [Fact]
    public async Task Assertion_claiming_an_agent_that_has_no_keys_is_invalid_client() =>
        await AssertInvalidClientAsync((d, _) =>
        {
            d.Issuer = "support-agent";
            d.Claims["sub"] = "support-agent";
        }, RefusalCodes.AssertionNoKeys);

    [Fact]
    public async Task Assertion_without_a_jti_is_invalid_client() =>
        await AssertInvalidClientAsync((d, _) => d.Claims.Remove("jti"));

    [Theory]
    [InlineData("urn:ietf:params:oauth:client-assertion-type:saml2-bearer")]
    [InlineData("urn:ietf:params:oauth:client-assertion-type:JWT-BEARER")]
    [InlineData("jwt-bearer")]
    [InlineData("urn:ietf:params:oauth:grant-type:jwt-bearer")]
    public async Task Wrong_client_assertion_type_is_invalid_request(string assertionType)
    {
        using var response = await PostAsync(_broker, Assertion(_broker, Credentials(_key)), assertionType: assertionType);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        await AuditAssert.RefusedOnceAsync(_broker, "token.denied", RefusalCodes.ClientAssertionTypeUnsupported);
    }

    [Fact]
    public async Task Client_assertion_without_its_type_or_type_without_assertion_is_invalid_request()
    {
        using var noType = await _broker.PostFormAsync("/oauth/token",
            [new("grant_type", "client_credentials"), new("scope", "crm:read"), new("client_assertion", Assertion(_broker, Credentials(_key)))]);
        using var noAssertion = await _broker.PostFormAsync("/oauth/token",
            [new("grant_type", "client_credentials"), new("scope", "crm:read"), new("client_assertion_type", JwtBearer)]);

        await OAuthAssert.ErrorAsync(noType, HttpStatusCode.BadRequest, "invalid_request");
        await OAuthAssert.ErrorAsync(noAssertion, HttpStatusCode.BadRequest, "invalid_request");
        Assert.Equal(2, (await _broker.AuditEventsAsync()).Count(e => e.Record.ReasonCode == RefusalCodes.ClientAssertionTypeUnsupported));
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("a.b.c")]
    [InlineData("..")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9..")]
    [InlineData("eyJ.eyJ.eyJ")]
    [InlineData("e30.e30.e30.e30.e30")]
    public async Task Garbage_assertion_is_invalid_client_not_a_server_error(string assertion)
    {
        using var response = await PostAsync(_broker, assertion);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task Oversized_assertion_is_refused_without_a_server_error() =>
        await AssertInvalidClientAsync((d, _) => d.Claims["pad"] = new string('x', 9_000));

    [Fact]
    public async Task Refused_assertions_get_the_same_body_as_an_unknown_client()
    {
        using var foreign = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var unknown = await _broker.ClientCredentialsAsync("no-such-agent", "whatever", ("scope", "crm:read"));
        var expected = await OAuthAssert.ErrorAsync(unknown, HttpStatusCode.Unauthorized, "invalid_client");

        using var wrongKey = await PostAsync(_broker, Assertion(_broker, Credentials(foreign)));
        using var unknownIssuer = await PostAsync(_broker, Assertion(_broker, Credentials(_key), d =>
        {
            d.Issuer = "no-such-agent";
            d.Claims["sub"] = "no-such-agent";
        }));

        Assert.Equal(expected, await OAuthAssert.ErrorAsync(wrongKey, HttpStatusCode.Unauthorized, "invalid_client"));
        Assert.Equal(expected, await OAuthAssert.ErrorAsync(unknownIssuer, HttpStatusCode.Unauthorized, "invalid_client"));
    }
}
