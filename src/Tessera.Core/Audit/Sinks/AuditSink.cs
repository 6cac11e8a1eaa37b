using Microsoft.Extensions.Logging;
using Tessera.Core.Storage;

namespace Tessera.Core.Audit.Sinks;

/// <summary>
/// One audit sink: a follower of this node's chain that writes every committed event, in sequence
/// order, as one JSON line (the admin API's shape, with <c>seq</c>, <c>prev_hash</c> and <c>hash</c>).
/// The store stays the record and the fail-closed gate; a sink only reads what is committed, so a
/// sink that is slow or down delays its own lines and nothing else, and loses none: it resumes from
/// its cursor once it can write again. Delivery is at least once (see <see cref="AuditSinkCursor"/>);
/// a collector drops repeats by <c>seq</c> (with <c>node</c> on PostgreSQL).
/// </summary>
public sealed partial class AuditSink : IDisposable
{
    /// <summary>Lines read and written per batch, so a sink catching up writes large batches with one sync each.</summary>
    internal const int MaxBatch = 1000;

    /// <summary>The first wait after a failure; it doubles on each further failure up to <see cref="MaxRetryInterval"/>.</summary>
    internal static readonly TimeSpan FirstRetryInterval = TimeSpan.FromSeconds(1);

    internal static readonly TimeSpan MaxRetryInterval = TimeSpan.FromSeconds(30);

    /// <summary>A sink this many events behind draws a posture finding: events reach the collector late.</summary>
    public const long FarBehind = 10_000;

    private static ReadOnlySpan<byte> HashField => ",\"hash\":\""u8;

    private readonly AuditSinkOutput _output;
    private readonly AuditSinkCursor _cursor;
    private readonly IAuditStore _store;
    private readonly AuditLog _log;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    private long _delivered;
    private long _failures;

    /// <summary>UTC ticks of <see cref="AuditSinkStatus.FailingSince"/>, 0 while the sink writes (a long, read whole by metrics).</summary>
    private long _failingSince;
    private TaskCompletionSource? _changed;

    public AuditSink(string name, AuditSinkOutput output, AuditSinkCursor cursor, IAuditStore store, AuditLog log, TimeProvider time, ILogger logger)
    {
        Name = name;
        _output = output;
        _cursor = cursor;
        _store = store;
        _log = log;
        _time = time;
        _logger = logger;
    }

    public string Name { get; }

    public long Delivered => Interlocked.Read(ref _delivered);

    public long Failures => Interlocked.Read(ref _failures);

    public AuditSinkStatus Status()
    {
        var delivered = Delivered;
        return new AuditSinkStatus(Name, delivered, Math.Max(0, _log.LastSeq - delivered), Failures,
            Interlocked.Read(ref _failingSince) is var since and > 0 ? new DateTimeOffset(since, TimeSpan.Zero) : null);
    }

    /// <summary>Completes at the sink's next delivery or failure (for tests and waiters; never polled).</summary>
    public Task Changed
    {
        get
        {
            var signal = Volatile.Read(ref _changed);
            if (signal is null)
            {
                var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                signal = Interlocked.CompareExchange(ref _changed, created, null) ?? created;
            }

            return signal.Task;
        }
    }

    /// <summary>
    /// Follows the chain until <paramref name="stop"/>: reads committed events after its cursor in
    /// batches, writes them, saves the cursor, and when it has caught up waits for the next commit.
    /// A failure (of the output or of the store) is counted and logged, and the batch is tried again
    /// after a backoff; requests never wait for it.
    /// </summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var retry = FirstRetryInterval;
        var started = false;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (!started)
                {
                    // A file holds the last line it got even when the cursor was not saved before a crash.
                    Interlocked.Exchange(ref _delivered, Math.Max(_cursor.Load(), _output.LastSeq() ?? 0));
                    started = true;
                }

                var delivered = Delivered;
                var lines = new List<byte[]>();
                var last = delivered;
                await foreach (var row in _store.ReadRowsAsync(delivered + 1, MaxBatch, stop))
                {
                    lines.Add(Line(row));
                    last = row.Seq;
                }

                if (lines.Count == 0)
                {
                    await _log.WaitForCommitAfterAsync(delivered, stop);
                    continue;
                }

                await _output.WriteAsync(lines, stop);

                // Delivered once written: a cursor that cannot be saved now is saved with the next batch, without writing these lines again.
                Interlocked.Exchange(ref _delivered, last);
                _cursor.Save(last);
                if (Interlocked.Exchange(ref _failingSince, 0) is var since and > 0)
                {
                    retry = FirstRetryInterval;
                    Log.Recovered(_logger, Name, last, new DateTimeOffset(since, TimeSpan.Zero));
                }

                Signal();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // Everything about the failure is in place before any of it can be seen: the retry's wait
                // (so a test's clock, moved on seeing the failure, moves this wait), the time it began, and
                // last the count and the signal. Counting first let a waiter see the failure, move the
                // clock, and only then the wait was made, on a clock already moved: the retry never came.
                var wait = Task.Delay(retry, _time, stop);
                if (Interlocked.Read(ref _failingSince) == 0)
                {
                    Interlocked.Exchange(ref _failingSince, _time.GetUtcNow().UtcTicks);

                    // The message names a file or a database error, never an event's content.
                    Log.Failing(_logger, Name, Delivered, ex.GetType().Name, ex.Message);
                }
                else
                {
                    Log.StillFailing(_logger, Name, ex);
                }

                _output.Reset();
                Interlocked.Increment(ref _failures);
                Signal();
                try
                {
                    await wait;
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, MaxRetryInterval.Ticks));
            }
        }
    }

    /// <summary>
    /// The line of a stored event: its stored JSON with <c>hash</c> added before the closing brace,
    /// byte for byte what <see cref="AuditEvent.WriteTo"/> writes, without parsing it again.
    /// </summary>
    internal static byte[] Line(AuditRow row)
    {
        var json = row.Json.AsSpan();
        var line = new byte[json.Length - 1 + HashField.Length + row.Hash.Length + 3];
        json[..^1].CopyTo(line);
        var at = json.Length - 1;
        HashField.CopyTo(line.AsSpan(at));
        at += HashField.Length;
        at += System.Text.Encoding.ASCII.GetBytes(row.Hash, line.AsSpan(at));
        "\"}\n"u8.CopyTo(line.AsSpan(at));
        return line;
    }

    private void Signal() => Interlocked.Exchange(ref _changed, null)?.TrySetResult();

    public void Dispose()
    {
        _output.Dispose();
        _cursor.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 110, Level = LogLevel.Warning,
            Message = "Audit sink {Sink} cannot write (delivered through seq {Seq}); requests go on, the store keeps every event, and the sink retries with backoff: {Error}: {Message}")]
        public static partial void Failing(ILogger logger, string sink, long seq, string error, string message);

        // Debug: while the sink is down this repeats at every retry, and Failing already said why.
        [LoggerMessage(EventId = 111, Level = LogLevel.Debug, Message = "Audit sink {Sink} still cannot write")]
        public static partial void StillFailing(ILogger logger, string sink, Exception exception);

        [LoggerMessage(EventId = 112, Level = LogLevel.Information, Message = "Audit sink {Sink} writes again (delivered through seq {Seq}; failing since {Since:o})")]
        public static partial void Recovered(ILogger logger, string sink, long seq, DateTimeOffset since);
    }
}
