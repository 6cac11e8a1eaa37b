using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Server.Tests.Attacks;

/// <summary>
/// Federated client authentication: an agent with <c>auth.federated: { idp, sub }</c> signs in with a JWT
/// its platform's identity provider issued (here a Kubernetes-like cluster), and holds no secret. The
/// first tests show it works; the rest attack issuer, key, algorithm, audience, lifetime, subject,
/// client id and replay.
/// </summary>
public sealed class FederatedAssertionAttackTests : IAsyncLifetime
{
    private const string AgentId = "k8s-agent";
    private const string Sub = "system:serviceaccount:agents:support";
    private const string OtherAgentId = "ci-agent";
    private const string OtherSub = "repo:corp/tickets:ref:refs/heads/main";
    private const string ClusterIssuer = "https://k8s.cluster.test";
    private const string CiIssuer = "https://ci.corp.test";
    private const string TokenEndpoint = TestBroker.Issuer + "/oauth/token";
    private const string JwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>A broker trusting two providers: the cluster (for k8s-agent and ci-agent) and a CI system (nobody's).</summary>
    private static async Task<(TestBroker Broker, TestIdp Cluster, TestIdp Ci)> StartAsync()
    {
        var cluster = new TestIdp("cluster-key-1");
        var ci = new TestIdp("ci-key-1");
        var directory = Path.Combine(Path.GetTempPath(), "tessera-test-" + Guid.NewGuid().ToString("N"));
        cluster.WriteJwks(Path.Combine(directory, "cluster"));
        ci.WriteJwks(Path.Combine(directory, "ci"));
        var yaml = TestBroker.DefaultYaml($$"""
              - id: {{AgentId}}
                owner: platform@corp.example
                purpose: Answer tickets from a pod, with no secret
                expires: 2027-06-30
                auth:
                  federated: { idp: cluster, sub: "{{Sub}}" }
                allowed_scopes: [ "crm:read" ]
              - id: {{OtherAgentId}}
                owner: platform@corp.example
                purpose: Nightly export from CI
                expires: 2027-06-30
                auth:
                  federated: { idp: cluster, sub: "{{OtherSub}}" }
                allowed_scopes: [ "crm:read" ]
            identity_providers:
              - id: cluster
                issuer: {{ClusterIssuer}}
                jwks_file: cluster/idp.jwks.json
                audience: kubernetes
              - id: ci
                issuer: {{CiIssuer}}
                jwks_file: ci/idp.jwks.json
                audience: tessera
            """);
        return (await TestBroker.StartAsync(yaml, directory), cluster, ci);
    }

    private TestBroker _broker = null!;
    private TestIdp _cluster = null!;
    private TestIdp _ci = null!;

    public async ValueTask InitializeAsync() => (_broker, _cluster, _ci) = await StartAsync();

    public async ValueTask DisposeAsync() => await _broker.DisposeAsync();

    /// <summary>A well-formed cluster token for k8s-agent, stamped with the broker's clock.</summary>
    private static string Assertion(TestBroker broker, TestIdp idp, string sub = Sub, string issuer = ClusterIssuer, string audience = TokenEndpoint,
        TimeSpan? lifetime = null, string? jti = "fresh", string? typ = null, SecurityKey? key = null, string algorithm = SecurityAlgorithms.EcdsaSha256, DateTimeOffset? issuedAt = null)
    {
        var claims = new Dictionary<string, object>();
        if (jti is not null)
        {
            claims["jti"] = jti == "fresh" ? Guid.NewGuid().ToString("N") : jti;
        }

        return idp.Mint(sub, issuedAt ?? broker.Time.GetUtcNow(), lifetime: lifetime ?? TimeSpan.FromMinutes(5), issuer: issuer, audience: audience,
            extraClaims: claims, typ: typ, signingKey: key, algorithm: algorithm);
    }

    private static Task<HttpResponseMessage> PostAsync(TestBroker broker, string assertion, string? clientId = null)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "client_credentials"),
            new("client_assertion_type", JwtBearer),
            new("client_assertion", assertion),
            new("scope", "crm:read"),
        };
        if (clientId is not null)
        {
            form.Add(new("client_id", clientId));
        }

        return broker.PostFormAsync("/oauth/token", form);
    }

    /// <summary>The body every client authentication failure gets: that of an unknown client.</summary>
    private static async Task<string> UnknownClientBodyAsync(TestBroker broker)
    {
        using var unknown = await broker.ClientCredentialsAsync("no-such-agent", "whatever", ("scope", "crm:read"));
        return await OAuthAssert.ErrorAsync(unknown, HttpStatusCode.Unauthorized, "invalid_client");
    }

    private static async Task AssertRefusedAsync(TestBroker broker, HttpResponseMessage response, string reason)
    {
        var body = await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal(await UnknownClientBodyAsync(broker), body);
        var denied = (await broker.AuditEventsAsync()).Where(e => e.Record.Type == "token.denied").ToList();
        Assert.Contains(denied, e => e.Record.Reason?.Contains(reason, StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task A_federated_agent_with_no_stored_secret_obtains_a_token_with_its_platforms_assertion()
    {
        using var response = await PostAsync(_broker, Assertion(_broker, _cluster));

        var jwt = new JsonWebToken(await OAuthAssert.TokenAsync(response));
        Assert.Equal(AgentId, jwt.GetClaim("client_id").Value);
        Assert.Equal(AgentId, jwt.Subject);
        Assert.Empty(_broker.Config.Agents.Single(a => a.Id == AgentId).Auth.ClientSecrets);
        Assert.Null(_broker.Config.Agents.Single(a => a.Id == AgentId).Auth.ClientSecretSha256);
        var issued = Assert.Single(await _broker.AuditEventsAsync(), e => e.Record.Type == "token.issued");
        Assert.Equal(AgentId, issued.Record.Agent);
    }

    [Theory]
    [InlineData(TokenEndpoint)]
    [InlineData(TestBroker.Issuer)]
    public async Task An_assertion_addressed_to_the_issuer_or_the_token_endpoint_is_accepted(string audience)
    {
        using var response = await PostAsync(_broker, Assertion(_broker, _cluster, audience: audience));

        await OAuthAssert.TokenAsync(response);
    }

    [Fact]
    public async Task A_client_id_naming_the_federated_agent_itself_is_accepted()
    {
        using var response = await PostAsync(_broker, Assertion(_broker, _cluster), clientId: AgentId);

        Assert.Equal(AgentId, new JsonWebToken(await OAuthAssert.TokenAsync(response)).GetClaim("client_id").Value);
    }

    [Fact]
    public async Task The_subject_picks_the_agent_among_several_federated_with_one_provider()
    {
        using var response = await PostAsync(_broker, Assertion(_broker, _cluster, sub: OtherSub));

        Assert.Equal(OtherAgentId, new JsonWebToken(await OAuthAssert.TokenAsync(response)).GetClaim("client_id").Value);
    }

    [Fact]
    public async Task An_assertion_from_an_untrusted_issuer_is_invalid_client()
    {
        var stranger = new TestIdp("cluster-key-1");

        using var response = await PostAsync(_broker, Assertion(_broker, stranger, issuer: "https://k8s.evil.test"));

        await AssertRefusedAsync(_broker, response, "unknown client");
    }

    [Fact]
    public async Task An_assertion_from_another_trusted_provider_with_the_same_subject_is_invalid_client()
    {
        using var withoutClientId = await PostAsync(_broker, Assertion(_broker, _ci, issuer: CiIssuer));
        using var withClientId = await PostAsync(_broker, Assertion(_broker, _ci, issuer: CiIssuer), clientId: AgentId);

        await AssertRefusedAsync(_broker, withoutClientId, "no agent is federated with identity provider 'ci'");
        await AssertRefusedAsync(_broker, withClientId, "not federated with identity provider 'ci'");
        await AuditAssert.RefusedOnceAsync(_broker, "token.denied", RefusalCodes.FederatedUnknownSubject);
        await AuditAssert.RefusedOnceAsync(_broker, "token.denied", RefusalCodes.FederatedNotFederated);
    }

    [Fact]
    public async Task An_assertion_signed_by_a_key_not_in_the_providers_jwks_is_invalid_client_even_with_its_kid()
    {
        var forger = new TestIdp("cluster-key-1");

        using var response = await PostAsync(_broker, Assertion(_broker, forger));

        await AssertRefusedAsync(_broker, response, "federated assertion from 'cluster' rejected");
        await AuditAssert.RefusedOnceAsync(_broker, "token.denied", RefusalCodes.FederatedInvalid);
    }

    [Theory]
    [InlineData("kubernetes")]                              // the provider's audience for principals' tokens
    [InlineData("tessera")]
    [InlineData("http://tessera.test/")]
    [InlineData("http://tessera.test/oauth/introspect")]
    [InlineData("https://tessera.test/oauth/token")]
    [InlineData("http://tessera.test.evil.example")]
    public async Task An_assertion_for_another_audience_is_invalid_client(string audience)
    {
        using var response = await PostAsync(_broker, Assertion(_broker, _cluster, audience: audience));

        await AssertRefusedAsync(_broker, response, "wrong audience");
    }

    [Fact]
    public async Task An_expired_assertion_is_invalid_client()
    {
        var now = _broker.Time.GetUtcNow();

        using var stale = await PostAsync(_broker, Assertion(_broker, _cluster, issuedAt: now - TimeSpan.FromMinutes(7), lifetime: TimeSpan.FromMinutes(5)));
        var kept = Assertion(_broker, _cluster);
        _broker.Time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(61));
        using var presentedLate = await PostAsync(_broker, kept);

        await AssertRefusedAsync(_broker, stale, "federated assertion expired");
        await AssertRefusedAsync(_broker, presentedLate, "federated assertion expired");
    }

    [Fact]
    public async Task An_assertion_living_longer_than_ten_minutes_is_invalid_client()
    {
        using var tenMinutes = await PostAsync(_broker, Assertion(_broker, _cluster, lifetime: TimeSpan.FromMinutes(10)));
        using var elevenMinutes = await PostAsync(_broker, Assertion(_broker, _cluster, lifetime: TimeSpan.FromMinutes(11)));
        using var oneYear = await PostAsync(_broker, Assertion(_broker, _cluster, lifetime: TimeSpan.FromDays(365)));

        await OAuthAssert.TokenAsync(tenMinutes);
        await AssertRefusedAsync(_broker, elevenMinutes, "lifetime too long");
        await AssertRefusedAsync(_broker, oneYear, "lifetime too long");
    }

    [Fact]
    public async Task A_long_lived_assertion_is_refused_even_when_presented_near_its_end()
    {
        var now = _broker.Time.GetUtcNow();

        // Issued an hour ago for an hour and a minute: one minute left, but a token worth stealing all along.
        using var response = await PostAsync(_broker, Assertion(_broker, _cluster, issuedAt: now - TimeSpan.FromHours(1), lifetime: TimeSpan.FromMinutes(61)));

        await AssertRefusedAsync(_broker, response, "exp - iat over 10m");
    }

    [Fact]
    public async Task An_assertion_without_iat_is_bounded_by_its_time_left()
    {
        var key = ((ECDsaSecurityKey)_cluster.Key).ECDsa;
        var now = _broker.Time.GetUtcNow().ToUnixTimeSeconds();
        object Claims(long exp) => new { iss = ClusterIssuer, sub = Sub, aud = TokenEndpoint, exp, jti = Guid.NewGuid().ToString("N") };

        using var shortOne = await PostAsync(_broker, HandSignedJwt.Es256(key, new { alg = "ES256", kid = "cluster-key-1" }, Claims(now + 300)));
        using var longOne = await PostAsync(_broker, HandSignedJwt.Es256(key, new { alg = "ES256", kid = "cluster-key-1" }, Claims(now + 3600)));
        using var noExp = await PostAsync(_broker, HandSignedJwt.Es256(key, new { alg = "ES256", kid = "cluster-key-1" },
            new { iss = ClusterIssuer, sub = Sub, aud = TokenEndpoint, jti = Guid.NewGuid().ToString("N") }));

        await OAuthAssert.TokenAsync(shortOne);
        await AssertRefusedAsync(_broker, longOne, "max 10m left");
        await AssertRefusedAsync(_broker, noExp, "federated assertion has no exp");
    }

    [Fact]
    public async Task An_assertion_issued_in_the_future_is_invalid_client()
    {
        using var response = await PostAsync(_broker, Assertion(_broker, _cluster, issuedAt: _broker.Time.GetUtcNow() + TimeSpan.FromMinutes(3)));

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task A_replayed_assertion_is_refused_the_second_time()
    {
        var assertion = Assertion(_broker, _cluster);

        using var first = await PostAsync(_broker, assertion);
        using var second = await PostAsync(_broker, assertion);
        using var sameJtiFreshlySigned = await PostAsync(_broker, Assertion(_broker, _cluster, sub: OtherSub, jti: new JsonWebToken(assertion).Id));

        await OAuthAssert.TokenAsync(first);
        await AssertRefusedAsync(_broker, second, "federated assertion jti replayed");
        await AssertRefusedAsync(_broker, sameJtiFreshlySigned, "federated assertion jti replayed");
    }

    [Fact]
    public async Task An_assertion_spent_before_a_restart_is_still_refused_after_it()
    {
        var assertion = Assertion(_broker, _cluster);
        using (var first = await PostAsync(_broker, assertion))
        {
            await OAuthAssert.TokenAsync(first);
        }

        _broker = await _broker.RestartAsync();

        using var replayed = await PostAsync(_broker, assertion);
        await AssertRefusedAsync(_broker, replayed, "federated assertion jti replayed");
        using var fresh = await PostAsync(_broker, Assertion(_broker, _cluster));
        await OAuthAssert.TokenAsync(fresh);
    }

    [Fact]
    public async Task An_assertion_without_a_jti_is_reusable_only_within_its_short_lifetime()
    {
        var assertion = Assertion(_broker, _cluster, jti: null, lifetime: TimeSpan.FromMinutes(2));

        using var first = await PostAsync(_broker, assertion);
        using var second = await PostAsync(_broker, assertion);
        _broker.Time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(61));
        using var afterExpiry = await PostAsync(_broker, assertion);

        await OAuthAssert.TokenAsync(first);
        await OAuthAssert.TokenAsync(second);
        await AssertRefusedAsync(_broker, afterExpiry, "federated assertion expired");
    }

    [Theory]
    [InlineData("system:serviceaccount:agents:other")]
    [InlineData("system:serviceaccount:agents:support ")]
    [InlineData("SYSTEM:SERVICEACCOUNT:AGENTS:SUPPORT")]
    [InlineData(AgentId)]
    public async Task An_assertion_for_another_subject_is_invalid_client(string sub)
    {
        using var withoutClientId = await PostAsync(_broker, Assertion(_broker, _cluster, sub: sub));
        using var withClientId = await PostAsync(_broker, Assertion(_broker, _cluster, sub: sub), clientId: AgentId);

        await AssertRefusedAsync(_broker, withoutClientId, "no agent is federated with identity provider 'cluster'");
        await AssertRefusedAsync(_broker, withClientId, "is not the subject configured for the agent");
    }

    [Fact]
    public async Task An_unsigned_assertion_with_alg_none_is_invalid_client()
    {
        var now = _broker.Time.GetUtcNow().ToUnixTimeSeconds();
        var payload = HandSignedJwt.Encode(new { iss = ClusterIssuer, sub = Sub, aud = TokenEndpoint, jti = Guid.NewGuid().ToString("N"), iat = now, exp = now + 60 });

        foreach (var header in new object[] { new { alg = "none" }, new { alg = "none", typ = "JWT", kid = "cluster-key-1" }, new { alg = "None" } })
        {
            using var response = await PostAsync(_broker, HandSignedJwt.Encode(header) + "." + payload + ".");
            await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        }
    }

    [Fact]
    public async Task An_assertion_signed_with_hs256_is_invalid_client_whatever_the_symmetric_key()
    {
        // Algorithm confusion: the "secret" is the provider's public key, which everyone knows.
        var publicKey = ((ECDsaSecurityKey)_cluster.Key).ECDsa.ExportSubjectPublicKeyInfo();

        foreach (var secret in new[] { RandomNumberGenerator.GetBytes(32), publicKey })
        {
            var hmac = new SymmetricSecurityKey(secret) { KeyId = "cluster-key-1" };
            using var response = await PostAsync(_broker, Assertion(_broker, _cluster, key: hmac, algorithm: SecurityAlgorithms.HmacSha256));
            await AssertRefusedAsync(_broker, response, "federated assertion from 'cluster' rejected");
        }
    }

    [Theory]
    [InlineData("support-agent")]       // an agent with a secret, not federated
    [InlineData(OtherAgentId)]          // federated with the same provider, another subject
    [InlineData("no-such-agent")]
    public async Task A_client_id_naming_another_agent_than_the_assertions_subject_is_invalid_client(string clientId)
    {
        using var response = await PostAsync(_broker, Assertion(_broker, _cluster), clientId: clientId);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal(await UnknownClientBodyAsync(_broker), await response.Content.ReadAsStringAsync());
        Assert.DoesNotContain(await _broker.AuditEventsAsync(), e => e.Record.Type == "token.issued");
    }

    [Theory]
    [InlineData("at+jwt")]
    [InlineData("dpop+jwt")]
    [InlineData("logout+jwt")]
    public async Task A_token_of_another_kind_from_the_trusted_provider_is_invalid_client(string typ)
    {
        using var response = await PostAsync(_broker, Assertion(_broker, _cluster, typ: typ));

        await AssertRefusedAsync(_broker, response, "not a client assertion");
    }

    [Fact]
    public async Task A_secret_for_a_federated_agent_is_refused_like_an_unknown_client()
    {
        using var response = await _broker.ClientCredentialsAsync(AgentId, "", ("scope", "crm:read"));

        await AssertRefusedAsync(_broker, response, "client has no secret registered");
    }
}
