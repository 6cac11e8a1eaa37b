using Tessera.Core.Audit;

namespace Tessera.Core.Storage;

/// <summary>The append-only audit log. Only the single <see cref="AuditLog"/> writer appends.</summary>
public interface IAuditStore
{
    /// <summary>
    /// The node whose chain this store appends to, written into every event it appends (see
    /// <see cref="AuditEvent.Node"/>); null on a store of one chain (SQLite), the default.
    /// </summary>
    string? Node => null;

    /// <summary>The nodes that have a chain in the store, in ordinal order; empty on a store of one chain.</summary>
    Task<IReadOnlyList<string>> ListNodesAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>([]);

    /// <summary>
    /// Stored rows of <paramref name="node"/>'s chain, as <see cref="ReadRowsAsync(long, CancellationToken)"/>
    /// reads this store's own chain, for verifying every node's chain. Only a store of one chain per node has them.
    /// </summary>
    IAsyncEnumerable<AuditRow> ReadRowsAsync(string node, long fromSeq, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this audit store holds one chain");

    /// <summary>The last event's sequence number and hash, or (0, genesis) for an empty log.</summary>
    Task<AuditHead> GetHeadAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Appends events and the state changes they record in one transaction, durable when the task
    /// completes. Throws when anything could not be written; then nothing was written.
    /// </summary>
    Task AppendAsync(IReadOnlyList<AuditEvent> events, IReadOnlyList<StateChange> changes, CancellationToken cancellationToken);

    /// <summary>Stored rows in sequence order from <paramref name="fromSeq"/>, as they are on disk (every column a query filters on included), for verification.</summary>
    IAsyncEnumerable<AuditRow> ReadRowsAsync(long fromSeq, CancellationToken cancellationToken);

    /// <summary>
    /// At most <paramref name="limit"/> rows of this store's own chain from <paramref name="fromSeq"/>, for an
    /// audit sink reading in batches. A store whose reader reads a result to its end when left early
    /// (PostgreSQL's) bounds the query itself.
    /// </summary>
    IAsyncEnumerable<AuditRow> ReadRowsAsync(long fromSeq, int limit, CancellationToken cancellationToken) =>
        ReadRowsAsync(fromSeq, cancellationToken).Take(limit);

    /// <summary>
    /// Events matching a filter, oldest first: on a store of one chain in sequence order after
    /// <see cref="AuditQuery.AfterSeq"/>; on a store of one chain per node every node's events after
    /// <see cref="AuditQuery.AfterByNode"/>, each chain in sequence order, merged by time (see
    /// <see cref="AuditCursor"/>), each with its <see cref="AuditEvent.Node"/>.
    /// </summary>
    Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken cancellationToken);

    /// <summary>How many events match (<see cref="AuditQuery.Limit"/> and <see cref="AuditQuery.AfterSeq"/> apply as in a query, limit ignored).</summary>
    Task<long> CountAsync(AuditQuery query, CancellationToken cancellationToken);
}

/// <summary>The chain's current end.</summary>
public sealed record AuditHead(long Seq, string Hash);

/// <summary>
/// One stored event exactly as persisted: its sequence column, hashed JSON, hash and queryable
/// columns, and on a store of one chain per node its node column (null on a store of one chain).
/// </summary>
public sealed record AuditRow(long Seq, byte[] Json, string Hash, AuditColumns Columns, string? Node = null);
