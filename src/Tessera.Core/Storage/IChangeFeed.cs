namespace Tessera.Core.Storage;

/// <summary>
/// The durable, ordered log of <see cref="ClusterChange"/>s that nodes sharing one database read to
/// apply each other's state changes, and the signal that a new entry was committed. A store shared
/// by several processes provides it (<see cref="ITesseraStore.Changes"/>); an embedded store, one
/// node by construction, does not.
/// </summary>
public interface IChangeFeed : IAsyncDisposable
{
    /// <summary>The id of the newest committed entry (0 when the log is empty).</summary>
    Task<long> GetHeadAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Every committed entry after <paramref name="afterId"/>, oldest first, up to the log's head at
    /// the time of the read. Throws when entries after <paramref name="afterId"/> were pruned (the
    /// reader cannot know what it missed; it must load its state again, that is restart).
    /// </summary>
    Task<IReadOnlyList<ClusterChange>> ReadAfterAsync(long afterId, CancellationToken cancellationToken);

    /// <summary>Deletes the entries committed more than <paramref name="age"/> ago (by the database's clock); returns how many.</summary>
    Task<int> PruneAsync(TimeSpan age, CancellationToken cancellationToken);

    /// <summary>
    /// Returns when an entry may have been committed since the last call (a notification, or a
    /// listener just connected, which may have missed some) or after <paramref name="timeout"/>.
    /// Throws when the listener's connection failed; the next call connects again.
    /// </summary>
    Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken);
}
