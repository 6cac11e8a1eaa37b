namespace Tessera.Core.Tests.Cluster;

/// <summary>A change log in memory: entries appended by the test, read back in order; waiting returns at once.</summary>
internal sealed class MemoryChangeFeed : IChangeFeed
{
    private readonly Lock _lock = new();
    private readonly List<ClusterChange> _changes = [];

    public void Append(ClusterChangeKind kind, string key)
    {
        lock (_lock)
        {
            _changes.Add(new ClusterChange(_changes.Count + 1, kind, key));
        }
    }

    public void Announce(StateChange change)
    {
        var entry = ClusterChange.Announcing(change)!;
        Append(entry.Kind, entry.Key);
    }

    public Task<long> GetHeadAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult((long)_changes.Count);
        }
    }

    public Task<IReadOnlyList<ClusterChange>> ReadAfterAsync(long afterId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<ClusterChange>>([.. _changes.Where(c => c.Id > afterId)]);
        }
    }

    public Task<int> PruneAsync(TimeSpan age, CancellationToken cancellationToken) => Task.FromResult(0);

    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
