using Tessera.Core.Storage;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// A store whose audit appends fail on demand, as a full disk or lost database would, or hang, as a
/// database another process holds locked does; and that tells a test when an event of a given type
/// has been committed (background work, awaited without sleeping).
/// </summary>
public sealed class FlakyStore(ITesseraStore inner) : DelegatingStore(inner), IAuditStore
{
    private readonly Lock _lock = new();
    private readonly List<(string Type, TaskCompletionSource<AuditEvent> Committed)> _waiters = [];
    private volatile bool _failAppends;
    private volatile TaskCompletionSource? _gate;
    private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the next event of <paramref name="type"/> is committed.</summary>
    public Task<AuditEvent> WaitForAsync(string type)
    {
        var committed = new TaskCompletionSource<AuditEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            _waiters.Add((type, committed));
        }

        return committed.Task;
    }

    public bool FailAppends { get => _failAppends; set => _failAppends = value; }

    /// <summary>Completes once an append is held by <see cref="HoldAppends"/>.</summary>
    public Task Holding => _holding.Task;

    /// <summary>Every append from now on waits until <see cref="ReleaseAppends"/>, then is written.</summary>
    public void HoldAppends() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseAppends() => Interlocked.Exchange(ref _gate, null)?.TrySetResult();

    public override IAuditStore Audit => this;

    public async Task AppendAsync(IReadOnlyList<AuditEvent> events, IReadOnlyList<StateChange> changes, CancellationToken cancellationToken)
    {
        if (_gate is { } gate)
        {
            _holding.TrySetResult();
            await gate.Task;
        }

        if (FailAppends)
        {
            throw new IOException("disk full (simulated)");
        }

        await Inner.Audit.AppendAsync(events, changes, cancellationToken);
        lock (_lock)
        {
            foreach (var e in events)
            {
                _waiters.RemoveAll(w => w.Type == e.Record.Type && w.Committed.TrySetResult(e));
            }
        }
    }

    public Task<AuditHead> GetHeadAsync(CancellationToken cancellationToken) => Inner.Audit.GetHeadAsync(cancellationToken);

    public IAsyncEnumerable<AuditRow> ReadRowsAsync(long fromSeq, CancellationToken cancellationToken) => Inner.Audit.ReadRowsAsync(fromSeq, cancellationToken);

    public Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken cancellationToken) => Inner.Audit.QueryAsync(query, cancellationToken);

    public Task<long> CountAsync(AuditQuery query, CancellationToken cancellationToken) => Inner.Audit.CountAsync(query, cancellationToken);

}
