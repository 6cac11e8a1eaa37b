using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;

namespace Tessera.Core.Revocation;

/// <summary>
/// Revokes a token, a mission, an agent or a principal: one durable entry written with its audit
/// event, then applied to the in-memory index before the caller is answered, so from the moment the
/// response is sent every check sees it. No work per derived token: descendants die because their
/// lineage names what was revoked.
/// </summary>
public sealed class RevocationService(RevocationIndex index, IRevocationStore store, IAuditStore auditStore, IMissionStore missions, AuditLog audit, TesseraConfig config, TimeProvider time)
{
    internal static readonly TimeSpan Skew = TimeSpan.FromSeconds(60);

    /// <summary>
    /// When the last token issued up to <paramref name="now"/> has expired, for a revocation that does
    /// not know the tokens it covers. Each was issued at or before now and is accepted only while its
    /// <c>exp − iat</c> is within <c>max_ttl</c> plus skew (<c>AccessTokenValidator</c>); the ceiling of
    /// <c>max_ttl</c> (1 day) is used rather than the configured value, so an entry still holds if
    /// <c>max_ttl</c> is raised after it was written. Pruning the entry after this time can bring
    /// nothing back: every token it covers has expired.
    /// </summary>
    public static DateTimeOffset CoversTokensUntil(DateTimeOffset now) => now + TokenOptions.MaxTtlCeiling + Skew;

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
    /// before now and so expires within the longest token lifetime (<see cref="CoversTokensUntil"/>).
    /// </summary>
    public Task<RevocationEntry> RevokeAsync(RevocationKind kind, string id, string revokedBy, string? requestId, CancellationToken cancellationToken) =>
        RevokeAsync(kind, id, null, revokedBy, requestId, null, cancellationToken);

    private async Task<RevocationEntry> RevokeAsync(RevocationKind kind, string id, DateTimeOffset? expiresAt, string revokedBy, string? requestId,
        AccessTokenClaims? claims, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // A mission named by id: its record says whose it was and when its last token expires.
        var record = kind == RevocationKind.Mission ? await missions.FindAsync(id, cancellationToken) : null;
        // A token's own exp, or a mission's last token's exp, bounds what the entry covers (derived
        // tokens never outlive their parent); otherwise every token issued up to now.
        var entry = new RevocationEntry(kind, id, now, expiresAt is { } exp ? exp + Skew : record is not null ? record.ExpiresAt + Skew : CoversTokensUntil(now));
        var reached = await ReachAsync(kind, id, claims, now, cancellationToken);
        var mission = kind == RevocationKind.Mission ? id : claims?.Mission;
        await audit.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.TokenRevoked,
            Outcome = AuditOutcomes.Allowed,
            Principal = kind == RevocationKind.Principal ? id : claims?.Principal ?? record?.Principal,
            Agent = kind == RevocationKind.Agent ? id : claims?.ClientId,
            ActorChain = claims?.ActorChain ?? record?.ActorChain,
            Mission = mission,
            Purpose = claims?.Purpose ?? record?.Purpose,
            Jti = kind == RevocationKind.Token ? id : null,
            Scopes = claims is null ? null : [.. claims.Scope],
            Reason = $"{kind.ToString().ToLowerInvariant()} {id} revoked by {revokedBy}; cascade root {id}, reaching {reached}",
            RequestId = requestId,
        }, entry, cancellationToken);
        index.Apply(entry);
        return entry;
    }

    /// <summary>
    /// How far a revocation reaches, for the record. It costs one indexed count on the audit log, not
    /// work per token: the cascade itself happens at check time through each token's lineage.
    /// </summary>
    private async Task<string> ReachAsync(RevocationKind kind, string id, AccessTokenClaims? claims, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var window = now - config.Tokens.MaxTtl - Skew;
        switch (kind)
        {
            case RevocationKind.Mission:
                return $"{await auditStore.CountAsync(new AuditQuery { Mission = id, Type = AuditTypes.TokenExchanged }, cancellationToken)} tokens issued under the mission";
            case RevocationKind.Agent:
                var toAgent = await auditStore.CountAsync(new AuditQuery { Agent = id, Type = AuditTypes.TokenIssued, Since = window }, cancellationToken)
                    + await auditStore.CountAsync(new AuditQuery { Agent = id, Type = AuditTypes.TokenExchanged, Since = window }, cancellationToken);
                return $"{toAgent} tokens issued to the agent that may still be alive, and every token it acts in";
            case RevocationKind.Principal:
                return $"{await auditStore.CountAsync(new AuditQuery { Principal = id, Type = AuditTypes.TokenExchanged, Since = window }, cancellationToken)} tokens issued on the principal's behalf that may still be alive";
            default:
                return claims is { Mission: not null } && claims.Audience == config.Server.Issuer
                    ? "the mission token and every token derived from it"
                    : "1 token";
        }
    }

    /// <summary>Drops what no token can need any more, in memory and in storage.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        index.Prune(now);
        return await store.PruneAsync(now, cancellationToken);
    }
}
