namespace Tessera.Core.Audit.Sinks;

/// <summary>Where an audit sink's lines go: a rotated file or a stream (standard output).</summary>
public abstract class AuditSinkOutput : IDisposable
{
    /// <summary>
    /// Writes complete lines (each ending in <c>\n</c>) in order and makes them as durable as this
    /// output promises before it returns; throws when any could not be written.
    /// </summary>
    public abstract ValueTask WriteAsync(IReadOnlyList<byte[]> lines, CancellationToken cancellationToken);

    /// <summary>
    /// The sequence number of the last event this output holds, when it can tell (a file can: its last
    /// line), so a sink resumes after it even when its cursor was not saved before a crash; null otherwise.
    /// </summary>
    public virtual long? LastSeq() => null;

    /// <summary>After a failed write: lets go of what failed, so the next write starts afresh.</summary>
    public abstract void Reset();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }
}
