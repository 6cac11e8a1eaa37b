using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;

namespace Tessera.Core.Revocation;

/// <summary>
/// Revokes a token, a mission, an agent or a principal: one durable entry written with its audit
/// event, then applied to the in-memory index before the caller is answered, so from the moment the
/// response is sent every check sees it.
/// </summary>
public sealed class RevocationService(RevocationIndex index, IRevocationStore store, AuditLog audit, TesseraConfig config, TimeProvider time)
{
    /// <summary>Loads the durable revocations into the index at start.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var entry in await store.LoadActiveAsync(now, cancellationToken))
        {
            index.Apply(entry);
        }
    }

    /// <summary>Revokes one of our tokens (and so everything derived from it) until it expires.</summary>
    public Task<RevocationEntry> RevokeTokenAsync(AccessTokenClaims claims, string revokedBy, string? requestId, CancellationToken cancellationToken) =>
        RevokeAsync(RevocationKind.Token, claims.Jti, DateTimeOffset.FromUnixTimeSeconds(claims.ExpiresAt), revokedBy, requestId, claims, cancellationToken);

    /// <summary>
    /// Revokes by id when the token itself is not at hand. Everything it can affect was issued
    /// before now and so expires within the longest token lifetime.
    /// </summary>
    public Task<RevocationEntry> RevokeAsync(RevocationKind kind, string id, string revokedBy, string? requestId, CancellationToken cancellationToken) =>
        RevokeAsync(kind, id, null, revokedBy, requestId, null, cancellationToken);

    private async Task<RevocationEntry> RevokeAsync(RevocationKind kind, string id, DateTimeOffset? expiresAt, string revokedBy, string? requestId,
        AccessTokenClaims? claims, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var skew = TimeSpan.FromSeconds(60);
        var entry = new RevocationEntry(kind, id, now, (expiresAt ?? now + config.Tokens.MaxTtl) + skew);
        await audit.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.TokenRevoked,
            Outcome = AuditOutcomes.Allowed,
            Principal = kind == RevocationKind.Principal ? id : claims?.Principal,
            Agent = kind == RevocationKind.Agent ? id : claims?.ClientId,
            ActorChain = claims?.ActorChain,
            Mission = kind == RevocationKind.Mission ? id : claims?.Mission,
            Jti = kind == RevocationKind.Token ? id : null,
            Scopes = claims is null ? null : [.. claims.Scope],
            Reason = $"{kind.ToString().ToLowerInvariant()} revoked by {revokedBy}",
            RequestId = requestId,
        }, entry, cancellationToken);
        index.Apply(entry);
        return entry;
    }

    /// <summary>Drops what no token can need any more, in memory and in storage.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        index.Prune(now);
        return await store.PruneAsync(now, cancellationToken);
    }
}
