namespace Tessera.Core.Leases;

/// <summary>
/// The durable record of leases. A lease is written here before its credential exists
/// (<see cref="OpenAsync"/>); every later step rides with its audit event (<see cref="LeaseStep"/>).
/// </summary>
public interface ILeaseStore
{
    /// <summary>Records a new lease (status <see cref="LeaseStatus.Issuing"/>); durable when the task completes.</summary>
    Task OpenAsync(Lease lease, CancellationToken cancellationToken);

    Task<Lease?> FindAsync(string id, CancellationToken cancellationToken);

    /// <summary>Every lease not yet ended, oldest first.</summary>
    Task<IReadOnlyList<Lease>> LoadLiveAsync(CancellationToken cancellationToken);

    /// <summary>The most recent leases, newest first: only those not ended unless <paramref name="includeEnded"/>.</summary>
    Task<IReadOnlyList<Lease>> ListAsync(bool includeEnded, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the work of ending each lease of <paramref name="ids"/> not ended and not claimed by
    /// another node until after <paramref name="now"/>, for this <paramref name="node"/> until
    /// <paramref name="until"/>; returns the ids it took. On several nodes, one ends each lease.
    /// </summary>
    Task<IReadOnlyList<string>> ClaimAsync(IReadOnlyList<string> ids, string node, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken);

    /// <summary>Deletes leases that ended before <paramref name="before"/>; their history stays in the audit log.</summary>
    Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken);
}
