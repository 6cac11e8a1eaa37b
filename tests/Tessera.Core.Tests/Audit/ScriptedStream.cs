namespace Tessera.Core.Tests.Audit;

/// <summary>
/// A write-only stream that keeps what it is given and, on demand, fails every write (as a full disk
/// or a closed pipe does) or holds writes until released (as a reader that stopped reading does).
/// </summary>
internal sealed class ScriptedStream : Stream
{
    private readonly MemoryStream _written = new();
    private readonly Lock _lock = new();
    private TaskCompletionSource? _gate;
    private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public volatile bool Failing;

    /// <summary>Completes once a write waits at the gate <see cref="Hold"/> closed.</summary>
    public Task Holding => _holding.Task;

    public void Hold() => Volatile.Write(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Release() => Interlocked.Exchange(ref _gate, null)?.TrySetResult();

    public byte[] Written()
    {
        lock (_lock)
        {
            return _written.ToArray();
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _gate) is { } gate)
        {
            _holding.TrySetResult();
            await gate.Task.WaitAsync(cancellationToken);
        }

        if (Failing)
        {
            throw new IOException("No space left on device (simulated)");
        }

        lock (_lock)
        {
            _written.Write(buffer.Span);
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        Failing ? Task.FromException(new IOException("No space left on device (simulated)")) : Task.CompletedTask;

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
