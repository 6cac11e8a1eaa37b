using System.Buffers;
using System.Text.Json;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Tessera.Core.Posture;
using Tessera.Core.Storage;
using Tessera.Core.Telemetry;

namespace Tessera.Core.Audit;

/// <summary>
/// The single writer of the hash-chained audit log. Callers enqueue and await; one loop takes
/// everything queued, chains it, and commits it with its state changes in one durable transaction
/// (group commit), then completes every caller. A failed commit fails every action in the batch:
/// the log fails closed.
/// </summary>
/// <remarks>
/// Callers are completed synchronously: what a caller does after <c>await AppendAsync</c>, up to its
/// next await, runs on the writer loop before it takes the next batch (for a token request: write
/// the response and hand it to Kestrel). Queuing every continuation to the thread pool instead cost
/// a thread-pool hand-off and wake-up per request (≈ 15 µs of CPU per token in quiet load tests,
/// in the git history of docs/performance.md), and the time the writer spends completing lets the next batch grow.
/// So code that awaits an append must not block after it (no synchronous waits or I/O before its
/// next await): it would hold up every later commit.
/// </remarks>
public sealed partial class AuditLog : IAsyncDisposable
{
    /// <summary>Batches are capped so one commit stays short and latency stays bounded.</summary>
    internal const int MaxBatch = 2048;

    /// <summary>How often a log whose last commit failed tries the store again while no action comes.</summary>
    internal static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    private readonly IAuditStore _store;
    private readonly string? _node;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(65_536)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    /// <summary>Queued by the checkpoint timer: the loop cuts a checkpoint if events came since the last one.</summary>
    private static readonly Pending CheckpointTick = new(null!, [], default);

    private readonly AuditCheckpointer? _checkpointer;
    private ITimer? _checkpointTimer;
    private Task? _loop;
    private AuditHead _head = new(0, AuditEvent.GenesisHash);
    private volatile bool _healthy = true;

    /// <summary>Set by a follower waiting for a commit (<see cref="WaitForCommitAfterAsync"/>); null while none waits, so a commit costs nothing more.</summary>
    private TaskCompletionSource? _committed;

    public AuditLog(IAuditStore store, TimeProvider time, ILogger<AuditLog> logger)
        : this(store, time, logger, checkpointer: null)
    {
    }

    /// <summary>A log that cuts signed checkpoints as <paramref name="checkpointer"/> decides (none when null).</summary>
    public AuditLog(IAuditStore store, TimeProvider time, ILogger<AuditLog> logger, AuditCheckpointer? checkpointer)
    {
        _store = store;
        _node = store.Node;
        _time = time;
        _logger = logger;
        _checkpointer = checkpointer is { Options.Enabled: true } ? checkpointer : null;
    }

    /// <summary>False after a failed commit, until a commit succeeds again; readiness reports it.</summary>
    public bool IsHealthy => _healthy;

    public long LastSeq => Volatile.Read(ref _head).Seq;

    /// <summary>
    /// Completes once the chain's last committed event is after <paramref name="seq"/>: at once when
    /// it already is, otherwise at the next commit (an audit sink waits here instead of polling the
    /// store). The writer only completes a task that someone waits on, once per batch, never per event.
    /// </summary>
    public Task WaitForCommitAfterAsync(long seq, CancellationToken cancellationToken)
    {
        var signal = Volatile.Read(ref _committed);
        if (signal is null)
        {
            // Continuations run on the thread pool: the writer never runs a follower's work.
            var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            signal = Interlocked.CompareExchange(ref _committed, created, null) ?? created;
        }

        // Checked after the signal is in place, so a commit between the caller's read and this wait still wakes it.
        return LastSeq > seq ? Task.CompletedTask : signal.Task.WaitAsync(cancellationToken);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _head = await _store.GetHeadAsync(cancellationToken);
        if (_checkpointer is { } checkpointer)
        {
            checkpointer.StartFrom(_head, await HeadIsCheckpointAsync(_head, cancellationToken));
            var every = checkpointer.Options.Every;
            _checkpointTimer = _time.CreateTimer(static log => ((AuditLog)log!)._queue.Writer.TryWrite(CheckpointTick), this, every, every);
        }

        _loop = Task.Run(RunAsync, CancellationToken.None);
    }

    private async Task<bool> HeadIsCheckpointAsync(AuditHead head, CancellationToken cancellationToken)
    {
        if (head.Seq == 0)
        {
            return false;
        }

        await foreach (var row in _store.ReadRowsAsync(head.Seq, cancellationToken))
        {
            return string.Equals(row.Columns.Type, AuditTypes.AuditCheckpoint, StringComparison.Ordinal);
        }

        return false;
    }

    /// <summary>Records one event; completes when it is durable. Throws <see cref="AuditWriteException"/> otherwise.</summary>
    public Task<AuditEvent> AppendAsync(AuditRecord record, StateChange? change = null, CancellationToken cancellationToken = default) =>
        AppendAsync(record, change is null ? [] : [change], cancellationToken);

    /// <summary>Records one event with several state changes, all in the same durable transaction.</summary>
    public Task<AuditEvent> AppendAsync(AuditRecord record, IReadOnlyList<StateChange> changes, CancellationToken cancellationToken)
    {
        var span = TesseraTrace.StartAudit(record);
        var pending = new Pending(record, changes, _time.GetUtcNow());
        var append = _queue.Writer.TryWrite(pending) ? pending.Completion.Task : EnqueueSlowAsync(pending, cancellationToken);

        // Traced, the span ends when the event is durable; untraced, the caller awaits the commit itself.
        return span is null ? append : TesseraTrace.EndWith(span, append);
    }

    /// <summary>
    /// Records one event and waits at most <paramref name="timeout"/> for it to be durable, for an
    /// action that must not happen unrecorded and must not wait for ever either (a proxied request
    /// while another process holds the database locked). Throws <see cref="AuditWriteException"/> when
    /// the commit fails or does not finish in time. After a timeout the event may still be committed
    /// later: the caller records what became of the action in a following event.
    /// </summary>
    public async Task<AuditEvent> AppendWithinAsync(AuditRecord record, TimeSpan timeout)
    {
        // The deadline exists before the event is queued, so a commit that hangs always meets it.
        using var deadline = new CancellationTokenSource(timeout, _time);
        var append = AppendAsync(record, change: null, CancellationToken.None);
        try
        {
            return await append.WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            // Nobody awaits the commit any more: observe its failure, if it comes, so it is not unobserved.
            _ = append.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw new AuditWriteException($"the audit event was not durable within {timeout.TotalSeconds:0.###} s", null);
        }
    }

    /// <summary>Completes the followers' wait, if any; a plain read when none waits (no sink configured).</summary>
    private void WakeFollowers()
    {
        if (Volatile.Read(ref _committed) is not null)
        {
            Interlocked.Exchange(ref _committed, null)?.TrySetResult();
        }
    }

    private async Task<AuditEvent> EnqueueSlowAsync(Pending pending, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken);
        }
        catch (ChannelClosedException ex)
        {
            throw new AuditWriteException("the audit log is shut down", ex);
        }

        return await pending.Completion.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        var events = new List<AuditEvent>(MaxBatch);
        var changes = new List<StateChange>();
        var reader = _queue.Reader;

        // One buffer and one JSON writer for every event: this loop is the only writer.
        var buffer = new ArrayBufferWriter<byte>(1024);
        using var json = new Utf8JsonWriter(buffer);
        var digest = new byte[SHA256.HashSizeInBytes];
        while (_healthy ? await reader.WaitToReadAsync() : await WaitForWorkWhileUnhealthyAsync(reader))
        {
            batch.Clear();
            events.Clear();
            changes.Clear();
            var ticked = false;
            while (batch.Count < MaxBatch && reader.TryRead(out var p))
            {
                if (ReferenceEquals(p, CheckpointTick))
                {
                    ticked = true;
                    continue;
                }

                batch.Add(p);
            }

            var head = _head;
            foreach (var p in batch)
            {
                var seq = head.Seq + 1;
                buffer.ResetWrittenCount();
                json.Reset(buffer);
                AuditEvent.WriteHashed(json, seq, p.Time, p.Record, head.Hash, _node);
                SHA256.HashData(buffer.WrittenSpan, digest);
                var hash = Convert.ToHexStringLower(digest);
                events.Add(new AuditEvent { Seq = seq, Time = p.Time, Record = p.Record, PrevHash = head.Hash, Hash = hash, Json = buffer.WrittenSpan.ToArray(), Node = _node });
                changes.AddRange(p.Changes);

                head = new AuditHead(seq, hash);
            }

            // One comparison per batch; signing (tens of microseconds) only when a checkpoint is due.
            var cut = _checkpointer is { } checkpointer && checkpointer.IsDue(batch.Count, ticked) && AppendCheckpoint(checkpointer, ref head, events, buffer, json, digest);
            if (events.Count == 0)
            {
                // A tick with nothing to cover (or no key yet): nothing to commit.
                continue;
            }

            // The usage counters ride with the events they count (one update per batch, not per event).
            if (UsageObserved.From(events) is { } usage)
            {
                changes.Add(usage);
            }

            try
            {
                await _store.AppendAsync(events, changes, CancellationToken.None);
                Volatile.Write(ref _head, head);
                _healthy = true;
                if (_checkpointer is { } committed)
                {
                    committed.Committed(batch.Count, cut);
                    if (cut && !ticked)
                    {
                        // The next timed checkpoint is due a whole period after this one.
                        _checkpointTimer?.Change(committed.Options.Every, committed.Options.Every);
                    }
                }

                WakeFollowers();
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Completion.TrySetResult(events[i]);
                }
            }
            catch (Exception ex)
            {
                _healthy = false;
                Log.CommitFailed(_logger, batch.Count, ex);
                var failure = new AuditWriteException("the audit event could not be written durably", ex);
                foreach (var p in batch)
                {
                    p.Completion.TrySetException(failure);
                }

                // The chain continues from what is really on disk, whatever the failure left there.
                try
                {
                    _head = await _store.GetHeadAsync(CancellationToken.None);

                    // A commit whose acknowledgement was lost is on disk all the same: followers may read it.
                    WakeFollowers();
                }
                catch (Exception headEx)
                {
                    Log.CommitFailed(_logger, 0, headEx);
                }
            }
        }
    }

    /// <summary>
    /// Chains a checkpoint of <paramref name="head"/> after the batch's events; false when no key signs yet.
    /// A checkpoint is part of its batch's commit: if the commit fails, it fails with it and the events
    /// it would have covered stay counted for the next one.
    /// </summary>
    private bool AppendCheckpoint(AuditCheckpointer checkpointer, ref AuditHead head, List<AuditEvent> events, ArrayBufferWriter<byte> buffer, Utf8JsonWriter json, byte[] digest)
    {
        var now = _time.GetUtcNow();
        if (checkpointer.Cut(_node, head, now) is not { } record)
        {
            return false;
        }

        var seq = head.Seq + 1;
        buffer.ResetWrittenCount();
        json.Reset(buffer);
        AuditEvent.WriteHashed(json, seq, now, record, head.Hash, _node);
        SHA256.HashData(buffer.WrittenSpan, digest);
        var hash = Convert.ToHexStringLower(digest);
        events.Add(new AuditEvent { Seq = seq, Time = now, Record = record, PrevHash = head.Hash, Hash = hash, Json = buffer.WrittenSpan.ToArray(), Node = _node });
        head = new AuditHead(seq, hash);
        return true;
    }

    /// <summary>
    /// Waits for the next batch while the last commit failed, trying the store every
    /// <see cref="RetryInterval"/> meanwhile (<see cref="TryStoreAsync"/>). Why: only a commit makes
    /// the log healthy, and a node that is not ready gets no actions from a load balancer that follows
    /// <c>/readyz</c>; waiting for one, it would never be ready again once the database is back.
    /// </summary>
    private async Task<bool> WaitForWorkWhileUnhealthyAsync(ChannelReader<Pending> reader)
    {
        var work = reader.WaitToReadAsync().AsTask();
        while (!_healthy && !work.IsCompleted)
        {
            using var retry = new CancellationTokenSource();
            var due = Task.Delay(RetryInterval, _time, retry.Token);
            if (await Task.WhenAny(work, due) == work)
            {
                await retry.CancelAsync();
                break;
            }

            await TryStoreAsync();
        }

        return await work;
    }

    /// <summary>
    /// Commits an empty transaction (a real write transaction: on SQLite it takes the write lock) and
    /// re-reads the head; when both succeed the log is healthy again and continues from that head.
    /// A failure changes nothing: the log stays unhealthy and tries again after the next interval.
    /// </summary>
    private async Task TryStoreAsync()
    {
        try
        {
            await _store.AppendAsync([], [], CancellationToken.None);
            var head = await _store.GetHeadAsync(CancellationToken.None);
            Volatile.Write(ref _head, head);
            _healthy = true;
            WakeFollowers();
            Log.CommitsAgain(_logger, head.Seq);
        }
        catch (Exception ex)
        {
            Log.StillFailing(_logger, ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_checkpointTimer is not null)
        {
            await _checkpointTimer.DisposeAsync();
        }

        _queue.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop;
        }
    }

    private sealed record Pending(AuditRecord Record, IReadOnlyList<StateChange> Changes, DateTimeOffset Time)
    {
        /// <summary>Without <c>RunContinuationsAsynchronously</c>: the writer runs each caller's continuation (see the class remarks).</summary>
        public TaskCompletionSource<AuditEvent> Completion { get; } = new(TaskCreationOptions.None);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Error, Message = "Audit commit of {Count} events failed; the actions were refused")]
        public static partial void CommitFailed(ILogger logger, int count, Exception exception);

        [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "The audit log commits again (chain at seq {Seq}); actions are accepted")]
        public static partial void CommitsAgain(ILogger logger, long seq);

        // Debug: while the store is down this repeats every RetryInterval, and CommitFailed already said why.
        [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "The audit log's store still fails")]
        public static partial void StillFailing(ILogger logger, Exception exception);
    }
}
