using System.Net.Http.Json;
using Tessera.Core.Revocation;
using Tessera.Core.Tokens;
using Tessera.Server.Tests.Hosting;

namespace Tessera.Server.Tests.Attacks;

/// <summary>
/// Tokens signed with our own keys that must nevertheless be refused: signed by a key that has left
/// JWKS (a leaked old key), living longer than <c>tokens.max_ttl</c> allows, or issued in the future.
/// Each is refused at the proxy, at introspection and as a subject token, and a revocation is never
/// forgotten while a token it covers could still be accepted.
/// </summary>
public sealed class TokenLifetimeAttackTests : IAsyncLifetime
{
    private ProxyBroker _proxy = null!;

    public async ValueTask InitializeAsync() => _proxy = await ProxyBroker.StartAsync();

    public async ValueTask DisposeAsync() => await _proxy.DisposeAsync();

    private TestBroker Broker => _proxy.Broker;

    [Fact]
    public async Task A_fresh_token_signed_by_a_retired_key_is_refused_at_the_proxy_and_introspected_inactive()
    {
        var retired = Broker.Service<SigningKeyService>().Current();
        using (var rotate = await _proxy.AdminAsync(HttpMethod.Post, "/admin/v1/keys/rotate"))
        {
            rotate.EnsureSuccessStatusCode();
        }

        // publish_ahead (1m), then max_ttl (1h) + 60 s skew: the old key has left JWKS.
        Broker.Time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromHours(1) + TimeSpan.FromSeconds(61));
        Assert.DoesNotContain(retired.Kid, await Broker.Client.GetStringAsync("/.well-known/jwks.json"), StringComparison.Ordinal);

        // Whoever holds the old private key (a backup, a leak) mints a well-formed five-minute token.
        var now = Broker.Time.GetUtcNow().ToUnixTimeSeconds();
        var token = JwtSigner.Sign(retired, Claims(now, now + 300));

        var (status, response) = await _proxy.RawAsync("GET", "/proxy/crm/contacts/1", token);
        Assert.Equal(401, status);
        Assert.Contains("not signed by this Tessera", response, StringComparison.Ordinal);
        Assert.Empty(_proxy.Upstream.Received);
        Assert.False(await SigningKeyRotationTests.IsActiveAsync(Broker, token));
        Assert.Equal(TokenStatus.InvalidSignature, (await Broker.Service<AccessTokenValidator>().ValidateAsync(token, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_token_living_longer_than_max_ttl_is_refused_at_the_proxy_and_introspected_inactive()
    {
        var now = Broker.Time.GetUtcNow().ToUnixTimeSeconds();
        var token = JwtSigner.Sign(Broker.Service<SigningKeyService>().Current(), Claims(now, now + (long)TimeSpan.FromDays(30).TotalSeconds));

        var (status, response) = await _proxy.RawAsync("GET", "/proxy/crm/contacts/1", token);

        Assert.Equal(401, status);
        Assert.Contains("longer than this server issues", response, StringComparison.Ordinal);
        Assert.Empty(_proxy.Upstream.Received);
        Assert.False(await SigningKeyRotationTests.IsActiveAsync(Broker, token));
        var validation = await Broker.Service<AccessTokenValidator>().ValidateAsync(token, CancellationToken.None);
        Assert.Equal(TokenStatus.LifetimeExceeded, validation.Status);
        Assert.Contains("max_ttl", validation.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_whose_lifetime_is_max_ttl_plus_the_skew_is_still_accepted()
    {
        var now = Broker.Time.GetUtcNow().ToUnixTimeSeconds();
        var token = JwtSigner.Sign(Broker.Service<SigningKeyService>().Current(), Claims(now, now + 3600 + 60));
        var longer = JwtSigner.Sign(Broker.Service<SigningKeyService>().Current(), Claims(now, now + 3600 + 61));

        Assert.True(await SigningKeyRotationTests.IsActiveAsync(Broker, token));
        Assert.False(await SigningKeyRotationTests.IsActiveAsync(Broker, longer));
    }

    [Fact]
    public async Task A_token_issued_in_the_future_is_refused()
    {
        var now = Broker.Time.GetUtcNow().ToUnixTimeSeconds();
        var token = JwtSigner.Sign(Broker.Service<SigningKeyService>().Current(), Claims(now + 600, now + 900));

        var (status, _) = await _proxy.RawAsync("GET", "/proxy/crm/contacts/1", token);

        Assert.Equal(401, status);
        Assert.Empty(_proxy.Upstream.Received);
        Assert.Equal(TokenStatus.LifetimeExceeded, (await Broker.Service<AccessTokenValidator>().ValidateAsync(token, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_revoked_long_lived_token_stays_refused_after_its_revocation_is_pruned()
    {
        var now = Broker.Time.GetUtcNow().ToUnixTimeSeconds();
        var claims = Claims(now, now + (long)TimeSpan.FromDays(30).TotalSeconds);
        var token = JwtSigner.Sign(Broker.Service<SigningKeyService>().Current(), claims);

        // Revoked by id: the revocation does not know the token's exp.
        using (var revoke = await _proxy.AdminAsync(HttpMethod.Post, "/admin/v1/revocations", new { kind = "jti", id = claims.Jti }))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        Broker.Time.Advance(TimeSpan.FromDays(2));
        await Broker.Service<RevocationService>().PruneAsync(CancellationToken.None);
        Assert.Equal(0, Broker.Service<RevocationIndex>().Count);

        var (status, _) = await _proxy.RawAsync("GET", "/proxy/crm/contacts/1", token);
        Assert.Equal(401, status);
        Assert.False(await SigningKeyRotationTests.IsActiveAsync(Broker, token));
    }

    private static AccessTokenClaims Claims(long issuedAt, long expiresAt) => new()
    {
        Issuer = TestBroker.Issuer,
        Subject = "support-agent",
        Audience = "urn:tessera:tool:crm",
        ClientId = "support-agent",
        Scope = ScopeSet.Parse("crm:read"),
        Jti = Guid.NewGuid().ToString("N"),
        IssuedAt = issuedAt,
        ExpiresAt = expiresAt,
    };
}
