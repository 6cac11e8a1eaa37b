using System.Collections.Concurrent;

namespace Tessera.Core.Revocation;

/// <summary>
/// The in-memory answer to "is this token dead?", in O(depth): a token is revoked when its own id
/// or any id of its lineage (parent tokens, mission) is in the revoked set, or when its principal or
/// any agent in its chain has a revoked-before time at or after the token's <c>iat</c>. Revoking a
/// mission or an agent is one entry, however many tokens derive from it. Fed at start from storage
/// and afterwards by every durable revocation; expired entries are pruned.
/// </summary>
public sealed class RevocationIndex
{
    private readonly RevokedIdSet _revokedIds = new();
    // The cut-off and the expiry of one agent or principal live in one value, so Prune can remove an
    // entry only if it is exactly the expired one it saw: a revocation applied meanwhile survives.
    private readonly ConcurrentDictionary<string, Cut> _agentsRevokedBefore = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Cut> _principalsRevokedBefore = new(StringComparer.Ordinal);

    public int Count => _revokedIds.Count + _agentsRevokedBefore.Count + _principalsRevokedBefore.Count;

    /// <summary>
    /// Raised after each entry is applied (this node's revocations and other nodes', as they arrive), so
    /// what derives from a token outside memory (a database lease) can be ended at once. Handlers must be quick.
    /// </summary>
    public event Action? Applied;

    public void Apply(RevocationEntry entry)
    {
        var cut = new Cut(entry.RevokedAt.ToUnixTimeSeconds(), entry.ExpiresAt.ToUnixTimeSeconds());
        switch (entry.Kind)
        {
            case RevocationKind.Token or RevocationKind.Mission or RevocationKind.Session:
                _revokedIds.Add(entry.Id, entry.ExpiresAt.ToUnixTimeSeconds());
                break;
            case RevocationKind.Agent:
                _agentsRevokedBefore.AddOrUpdate(entry.Id, cut, (_, old) => old.Merge(cut));
                break;
            case RevocationKind.Principal:
                _principalsRevokedBefore.AddOrUpdate(entry.Id, cut, (_, old) => old.Merge(cut));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(entry), entry.Kind, "unknown revocation kind");
        }

        Applied?.Invoke();
    }

    /// <param name="jti">The token's own id.</param>
    /// <param name="lineage">Ids of its ancestors (parent tokens and mission).</param>
    /// <param name="principal">Its principal's <c>sub</c>, when issued on someone's behalf.</param>
    /// <param name="agents">The client and every actor of its chain.</param>
    /// <param name="issuedAt">Its <c>iat</c>, Unix seconds.</param>
    public bool IsRevoked(string jti, IReadOnlyList<string> lineage, string? principal, IReadOnlyList<string> agents, long issuedAt)
    {
        if (_revokedIds.Contains(jti))
        {
            return true;
        }

        for (var i = 0; i < lineage.Count; i++)
        {
            if (_revokedIds.Contains(lineage[i]))
            {
                return true;
            }
        }

        // Revoked-before times have one-second resolution like iat: a token issued in the same
        // second as the revocation is treated as revoked (fail closed).
        if (!_agentsRevokedBefore.IsEmpty)
        {
            for (var i = 0; i < agents.Count; i++)
            {
                if (_agentsRevokedBefore.TryGetValue(agents[i], out var before) && issuedAt <= before.RevokedBefore)
                {
                    return true;
                }
            }
        }

        return principal is not null && !_principalsRevokedBefore.IsEmpty
            && _principalsRevokedBefore.TryGetValue(principal, out var pBefore) && issuedAt <= pBefore.RevokedBefore;
    }

    /// <summary>Whether an id (a jti, mission or console session) itself is revoked; used before deriving from it.</summary>
    public bool IsIdRevoked(string id) => _revokedIds.Contains(id);

    /// <summary>Forgets entries whose tokens have all expired; returns how many were removed.</summary>
    public int Prune(DateTimeOffset now)
    {
        var nowSeconds = now.ToUnixTimeSeconds();
        var removed = _revokedIds.Prune(nowSeconds);

        foreach (var map in new[] { _agentsRevokedBefore, _principalsRevokedBefore })
        {
            foreach (var (id, cut) in map)
            {
                if (cut.Expiry < nowSeconds && map.TryRemove(KeyValuePair.Create(id, cut)))
                {
                    removed++;
                }
            }
        }

        return removed;
    }

    /// <summary>A revoked-before time and when the last token it can affect expires, Unix seconds.</summary>
    private readonly record struct Cut(long RevokedBefore, long Expiry)
    {
        public Cut Merge(Cut other) => new(Math.Max(RevokedBefore, other.RevokedBefore), Math.Max(Expiry, other.Expiry));
    }
}
