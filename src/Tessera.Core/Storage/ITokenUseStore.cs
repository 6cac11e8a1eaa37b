namespace Tessera.Core.Storage;

/// <summary>
/// Use counters of tokens limited by <c>max_uses</c>. The count is shared by every node, so the
/// increment is one conditional write, never a read followed by a write.
/// </summary>
public interface ITokenUseStore
{
    /// <summary>
    /// Counts one use of <paramref name="jti"/> if fewer than <paramref name="maxUses"/> were
    /// counted, durably. Returns the number of this use (1-based), or null when none is left.
    /// </summary>
    Task<int?> TryConsumeAsync(string jti, int maxUses, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Forgets counters of tokens that have expired.</summary>
    Task PruneAsync(DateTimeOffset now, CancellationToken cancellationToken);
}
