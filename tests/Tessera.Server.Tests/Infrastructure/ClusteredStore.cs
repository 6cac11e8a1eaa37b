using Tessera.Core.Storage;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// A store that is one node of several (it has a change log), over any store: the log stays empty,
/// and the node reads it at start and then only when the test signals a notification, so a test
/// decides when the node last confirmed it is current.
/// </summary>
public sealed class ClusteredStore(ITesseraStore inner) : DelegatingStore(inner), IChangeFeed
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _notified = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the node next waits for a notification, that is once its last read of the log was applied.</summary>
    public Task Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiting.Task;
            }
        }
    }

    /// <summary>As a notification would: the node reads the log now.</summary>
    public Task NotifyAsync()
    {
        lock (_lock)
        {
            _waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _notified.TrySetResult();
            return _waiting.Task;
        }
    }

    public override IChangeFeed Changes => this;

    public Task<long> GetHeadAsync(CancellationToken cancellationToken) => Task.FromResult(0L);

    public Task<IReadOnlyList<ClusterChange>> ReadAfterAsync(long afterId, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<ClusterChange>>([]);

    public Task<int> PruneAsync(TimeSpan age, CancellationToken cancellationToken) => Task.FromResult(0);

    /// <summary>Ignores the heartbeat: returns only when notified, so the node's freshness is the test's to decide.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task notified;
        lock (_lock)
        {
            _waiting.TrySetResult();
            notified = _notified.Task;
        }

        await notified.WaitAsync(cancellationToken);
        lock (_lock)
        {
            _notified = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

}
