using Tessera.Core.Audit;

namespace Tessera.Core.Storage;

/// <summary>The append-only audit log. Only the single <see cref="AuditLog"/> writer appends.</summary>
public interface IAuditStore
{
    /// <summary>The last event's sequence number and hash, or (0, genesis) for an empty log.</summary>
    Task<AuditHead> GetHeadAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Appends events and the state changes they record in one transaction, durable when the task
    /// completes. Throws when anything could not be written; then nothing was written.
    /// </summary>
    Task AppendAsync(IReadOnlyList<AuditEvent> events, IReadOnlyList<StateChange> changes, CancellationToken cancellationToken);

    /// <summary>Stored rows in sequence order from <paramref name="fromSeq"/>, as they are on disk (every column a query filters on included), for verification.</summary>
    IAsyncEnumerable<AuditRow> ReadRowsAsync(long fromSeq, CancellationToken cancellationToken);

    /// <summary>Events matching a filter, oldest first.</summary>
    Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken cancellationToken);

    /// <summary>How many events match (<see cref="AuditQuery.Limit"/> and <see cref="AuditQuery.AfterSeq"/> apply as in a query, limit ignored).</summary>
    Task<long> CountAsync(AuditQuery query, CancellationToken cancellationToken);
}

/// <summary>The chain's current end.</summary>
public sealed record AuditHead(long Seq, string Hash);

/// <summary>One stored event exactly as persisted: its sequence column, hashed JSON, hash and queryable columns.</summary>
public sealed record AuditRow(long Seq, byte[] Json, string Hash, AuditColumns Columns);
