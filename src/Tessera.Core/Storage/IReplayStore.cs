namespace Tessera.Core.Storage;

/// <summary>Spent one-time identifiers (client assertion and, between nodes, DPoP proof <c>jti</c>s); assertions arrive as <see cref="Identity.AssertionUsed"/>.</summary>
public interface IReplayStore
{
    Task<IReadOnlyList<(string Key, DateTimeOffset ExpiresAt)>> LoadActiveAsync(DateTimeOffset now, CancellationToken cancellationToken);

    Task<int> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Records <paramref name="key"/> until <paramref name="expiresAt"/> in one conditional write,
    /// unless a record of it that has not expired by <paramref name="now"/> exists; true when recorded.
    /// What lets nodes sharing one database refuse a proof or assertion another node accepted.
    /// </summary>
    Task<bool> TryUseAsync(string key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken);
}
