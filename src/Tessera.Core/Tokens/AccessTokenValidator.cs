using System.Collections.Concurrent;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Revocation;

namespace Tessera.Core.Tokens;

/// <summary>
/// Validates tokens Tessera issued, entirely in memory: signature by a key published in JWKS right now
/// (with Microsoft.IdentityModel), issuer, <c>typ: at+jwt</c>, ES256 only, a lifetime Tessera could
/// have issued (<c>exp − iat</c> at most <c>tokens.max_ttl</c> plus skew, <c>iat</c> not in the
/// future), expiry, and the revocation index. This is the one validator for our tokens: the proxy,
/// introspection, revocation and token exchange (subject tokens) all go through it.
/// A token whose signature verified is remembered (keyed by its whole text, so a forged payload under
/// a copied signature is a different key) until it expires: it is not verified again, but its expiry
/// and revocation are checked on every call.
/// </summary>
public sealed class AccessTokenValidator
{
    /// <summary>No token of ours is this long; longer input is refused before parsing.</summary>
    internal const int MaxTokenLength = 8 * 1024;

    private readonly SigningKeyService _keys;
    private readonly Cluster.ClusterFreshness _freshness;
    private readonly RevocationIndex _revocations;
    private readonly LiveConfig _live;
    private readonly TimeProvider _time;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly TokenValidationParameters _parameters;
    private readonly ConcurrentDictionary<string, AccessTokenClaims> _verified = new(StringComparer.Ordinal);
    private readonly long _maxLifetime;
    private long _nextPrune;

    /// <summary>
    /// False while this node cannot vouch that its revocations, suspensions and keys include every
    /// other node's changes up to <c>cluster.max_staleness</c> ago (always true on a single-node
    /// store). The token endpoint, introspection and the proxy check it first and answer 503
    /// (<see cref="Protocol.RefusalCodes.ClusterStale"/>): a validation here is only as good as the
    /// revocations it sees. One volatile read and a clock read.
    /// </summary>
    public bool IsCurrent => _freshness.IsCurrent;

    /// <summary>Clock skew allowed between <c>iat</c> and our clock, and on top of <c>max_ttl</c>.</summary>
    internal const long SkewSeconds = 60;

    /// <summary>Beyond this many remembered tokens, new ones are verified every time instead.</summary>
    internal const int MaxVerified = 200_000;

    // freshness: whether this node has every other node's revocations (null: a node alone, always current).
    public AccessTokenValidator(SigningKeyService keys, RevocationIndex revocations, LiveConfig live, TimeProvider time,
        Cluster.ClusterFreshness? freshness = null)
    {
        _freshness = freshness ?? Cluster.ClusterFreshness.Alone(time);
        _keys = keys;
        _live = live;
        // tokens.max_ttl and server.issuer take a restart to change (docs/operations.md).
        var config = live.Config;
        _revocations = revocations;
        _time = time;
        _maxLifetime = (long)config.Tokens.MaxTtl.TotalSeconds + SkewSeconds;
        _parameters = new TokenValidationParameters
        {
            ValidIssuer = config.Server.Issuer,
            ValidTypes = ["at+jwt"],
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidateAudience = false,
            // Expiry is checked against the injected clock below.
            ValidateLifetime = false,
            RequireSignedTokens = true,
            // Only a key in JWKS now: one that has left it (a leaked backup of an old key) verifies nothing.
            IssuerSigningKeyResolver = (_, _, kid, _) => kid is not null && _keys.FindPublished(kid) is { } key ? [key.SecurityKey] : [],
        };
    }

    public async Task<TokenValidation> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength)
        {
            return new TokenValidation(TokenStatus.Malformed, null, "not a JWT");
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        PruneIfDue(now);
        if (!_verified.TryGetValue(token, out var claims))
        {
            if (!_handler.CanReadToken(token))
            {
                return new TokenValidation(TokenStatus.Malformed, null, "not a JWT");
            }

            var result = await _handler.ValidateTokenAsync(token, _parameters);
            if (!result.IsValid)
            {
                return new TokenValidation(TokenStatus.InvalidSignature, null, $"rejected: {result.Exception?.GetType().Name ?? "invalid"}");
            }

            var jwt = (JsonWebToken)result.SecurityToken;
            claims = AccessTokenClaims.FromPayload(Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload));
            if (claims is null)
            {
                return new TokenValidation(TokenStatus.Malformed, null, "required claims missing");
            }

            // Reject lifetimes Tessera never issues: every token lives at most max_ttl, so a longer one
            // was minted with a stolen key or under an older, longer max_ttl; either way no revocation
            // entry is guaranteed to outlive it. (Checked once: claims and max_ttl do not change.)
            if (claims.ExpiresAt - claims.IssuedAt > _maxLifetime)
            {
                return new TokenValidation(TokenStatus.LifetimeExceeded, claims, "exp − iat exceeds tokens.max_ttl plus 60 s skew");
            }

            // Reject tokens issued in the future: a revocation cuts at a time, and covers only what was issued before it.
            if (claims.IssuedAt > now + SkewSeconds)
            {
                return new TokenValidation(TokenStatus.LifetimeExceeded, claims, "iat is in the future beyond 60 s skew");
            }

            if (claims.ExpiresAt > now && _verified.Count < MaxVerified)
            {
                _verified.TryAdd(token, claims);
            }
        }

        if (now >= claims.ExpiresAt)
        {
            return new TokenValidation(TokenStatus.Expired, claims, "expired");
        }

        if (_revocations.IsRevoked(claims.Jti, claims.Lineage, claims.Principal, claims.Agents, claims.IssuedAt))
        {
            return new TokenValidation(TokenStatus.Revoked, claims, "revoked");
        }

        // A token dies with the registration of any agent in it: removed from configuration or expired.
        var snapshot = _live.Current;
        var instant = DateTimeOffset.FromUnixTimeSeconds(now);
        foreach (var id in claims.Agents)
        {
            if (snapshot.Agents.Find(id) is not { } agent || agent.IsExpiredAt(instant))
            {
                return new TokenValidation(TokenStatus.Revoked, claims, $"agent '{id}' is no longer registered");
            }
        }

        // And it keeps only the scopes the running configuration still allows it.
        return new TokenValidation(TokenStatus.Active, snapshot.Narrow(claims), "active");
    }

    /// <summary>Whether <paramref name="token"/> is one of ours whose signature already verified (no parsing, no crypto).</summary>
    public bool IsKnown(string token) => _verified.ContainsKey(token);

    /// <summary>Forgets expired tokens once a minute; their entries could only ever answer "expired".</summary>
    private void PruneIfDue(long now)
    {
        var due = Interlocked.Read(ref _nextPrune);
        if (now < due || Interlocked.CompareExchange(ref _nextPrune, now + 60, due) != due)
        {
            return;
        }

        foreach (var (token, claims) in _verified)
        {
            if (claims.ExpiresAt <= now)
            {
                _verified.TryRemove(KeyValuePair.Create(token, claims));
            }
        }
    }
}
