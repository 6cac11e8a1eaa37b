using System.Runtime.CompilerServices;

namespace Tessera.Core.Tests.Audit;

/// <summary>
/// An in-memory audit store that refuses what a real one would (a batch that does not continue the
/// stored chain) and fails on demand: before writing, as a full disk does, or after writing, as a
/// commit whose acknowledgement was lost does.
/// </summary>
internal sealed class MemoryAuditStore : IAuditStore
{
    private readonly Lock _lock = new();
    private readonly List<AuditEvent> _events = [];
    private readonly List<StateChange> _changes = [];

    public enum Failure
    {
        None,
        BeforeWrite,
        AfterWrite,
    }

    /// <summary>How the next append fails; reset to <see cref="Failure.None"/> after one failure.</summary>
    public Failure FailNext { get; set; }

    public List<int> BatchSizes { get; } = [];

    /// <summary>The node the store appends as, as a store of one chain per node has (null: one chain).</summary>
    public string? Node { get; init; }

    public IReadOnlyList<AuditEvent> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    public IReadOnlyList<StateChange> Changes
    {
        get
        {
            lock (_lock)
            {
                return [.. _changes];
            }
        }
    }

    public Task<AuditHead> GetHeadAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_events.Count == 0 ? new AuditHead(0, AuditEvent.GenesisHash) : new AuditHead(_events[^1].Seq, _events[^1].Hash));
        }
    }

    private TaskCompletionSource? _gate;
    private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once an append waits at the gate <see cref="Hold"/> closed.</summary>
    public Task Holding => _holding.Task;

    /// <summary>Appends wait (neither succeed nor fail) until <see cref="Release"/>, as on a database another process holds locked.</summary>
    public void Hold() => Volatile.Write(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Release() => Interlocked.Exchange(ref _gate, null)?.TrySetResult();

    /// <summary>
    /// Runs after a batch is written and before its append returns, as another task of the node may
    /// react to a commit (a change-log entry read back) before the writer has gone on.
    /// </summary>
    public Func<IReadOnlyList<StateChange>, Task>? Committed { get; set; }

    public async Task AppendAsync(IReadOnlyList<AuditEvent> events, IReadOnlyList<StateChange> changes, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _gate) is { } gate)
        {
            _holding.TrySetResult();
            await gate.Task;
        }

        Write(events, changes);
        if (Committed is { } committed)
        {
            await committed(changes);
        }
    }

    private void Write(IReadOnlyList<AuditEvent> events, IReadOnlyList<StateChange> changes)
    {
        lock (_lock)
        {
            var failure = FailNext;
            FailNext = Failure.None;
            if (failure == Failure.BeforeWrite)
            {
                throw new IOException("disk full (simulated)");
            }

            var expected = _events.Count == 0 ? 1 : _events[^1].Seq + 1;
            for (var i = 0; i < events.Count; i++)
            {
                if (events[i].Seq != expected + i)
                {
                    throw new InvalidOperationException($"seq {events[i].Seq} does not continue the stored chain at {expected + i}");
                }
            }

            _events.AddRange(events);
            _changes.AddRange(changes);
            BatchSizes.Add(events.Count);
            if (failure == Failure.AfterWrite)
            {
                throw new TimeoutException("commit acknowledgement lost (simulated)");
            }
        }
    }

    public async IAsyncEnumerable<AuditRow> ReadRowsAsync(long fromSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var e in Events.Where(e => e.Seq >= fromSeq))
        {
            await Task.Yield();
            yield return new AuditRow(e.Seq, e.Json, e.Hash, AuditColumns.Of(e));
        }
    }

    public Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    /// <summary>Counts as the real stores do, on the columns a query filters by.</summary>
    public Task<long> CountAsync(AuditQuery query, CancellationToken cancellationToken) =>
        Task.FromResult((long)Events.Count(e => (query.Agent is null || e.Record.Agent == query.Agent)
            && (query.Principal is null || e.Record.Principal == query.Principal)
            && (query.Mission is null || e.Record.Mission == query.Mission)
            && (query.Tool is null || e.Record.Tool == query.Tool)
            && (query.Type is null || e.Record.Type == query.Type)
            && (query.Since is null || e.Time >= query.Since)));
}
