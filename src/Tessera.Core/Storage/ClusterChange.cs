using System.Globalization;
using Tessera.Core.Approvals;
using Tessera.Core.Identity;
using Tessera.Core.Revocation;
using Tessera.Core.Tokens;
using Tessera.Core.Vault;

namespace Tessera.Core.Storage;

/// <summary>
/// One entry of the change log that nodes sharing a database read to apply each other's state
/// changes (<see cref="IChangeFeed"/>): its position <paramref name="Id"/> (ascending in commit
/// order), what it touches and a key. Only changes to state a node holds in memory are logged.
/// </summary>
/// <remarks>
/// Why a key rather than the whole change: apart from a revocation (small, hot, and applied as is),
/// a node re-reads the touched state from the database, which is already committed when the entry is
/// visible. The log then never holds key material or secret ciphertext twice, and applying an entry
/// twice or late is harmless, because it converges on what the database holds now.
/// </remarks>
public sealed record ClusterChange(long Id, ClusterChangeKind Kind, string Key)
{
    /// <summary>The log entry that announces <paramref name="change"/>, or null when no node holds its state in memory.</summary>
    public static ClusterChange? Announcing(StateChange change) => change switch
    {
        RevocationEntry r => new(0, ClusterChangeKind.Revocation, FormatRevocation(r)),
        AgentSuspension s => new(0, ClusterChangeKind.Suspension, s.AgentId),
        SigningKeyAdded k => new(0, ClusterChangeKind.SigningKey, k.Key.Kid),
        SigningKeyRetired k => new(0, ClusterChangeKind.SigningKey, k.Kid),
        SecretVersionAdded v => new(0, ClusterChangeKind.Vault, v.Version.Name),
        VaultKeyChanged v => new(0, ClusterChangeKind.Vault, v.Key.Id),
        SecretVersionsDestroyed => new(0, ClusterChangeKind.Vault, ""),
        ApprovalChange a => new(0, ClusterChangeKind.Approval, a.Approval.Id),

        // Missions and used assertions are read from the database where they are checked, usage counters where a report reads them.
        _ => null,
    };

    /// <summary>The revocation a <see cref="ClusterChangeKind.Revocation"/> entry carries; throws on a malformed key (fail closed: the node stays stale).</summary>
    public RevocationEntry Revocation()
    {
        var parts = Key.Split(':', 4);
        if (Kind != ClusterChangeKind.Revocation || parts.Length != 4)
        {
            throw new FormatException($"change {Id} is not a revocation");
        }

        return new RevocationEntry(
            (RevocationKind)int.Parse(parts[0], CultureInfo.InvariantCulture),
            parts[3],
            DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(parts[1], CultureInfo.InvariantCulture)),
            DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(parts[2], CultureInfo.InvariantCulture)));
    }

    // The id last, so a colon in it needs no escaping.
    private static string FormatRevocation(RevocationEntry r) => string.Create(CultureInfo.InvariantCulture,
        $"{(int)r.Kind}:{r.RevokedAt.ToUnixTimeMilliseconds()}:{r.ExpiresAt.ToUnixTimeMilliseconds()}:{r.Id}");
}
