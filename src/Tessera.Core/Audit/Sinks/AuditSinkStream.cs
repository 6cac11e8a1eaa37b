namespace Tessera.Core.Audit.Sinks;

/// <summary>
/// Lines to a stream the process does not own (standard output): written and flushed per batch,
/// never synced (a pipe has nothing to sync). A reader that stops reading blocks only the sink.
/// </summary>
public sealed class AuditSinkStream(Stream stream) : AuditSinkOutput
{
    public override async ValueTask WriteAsync(IReadOnlyList<byte[]> lines, CancellationToken cancellationToken)
    {
        foreach (var line in lines)
        {
            await stream.WriteAsync(line, cancellationToken);
        }

        await stream.FlushAsync(cancellationToken);
    }

    // Nothing to undo: a line half written to a pipe is the reader's to drop; the batch is written again.
    public override void Reset()
    {
    }
}
