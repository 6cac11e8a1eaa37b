namespace Tessera.Core.Tests.Identity;

/// <summary>Suspensions read back from the state changes an audit store committed, as a store shared by several nodes would hold them.</summary>
internal sealed class MemoryAgentStateStore(MemoryAuditStore audit) : IAgentStateStore
{
    public Task<IReadOnlyList<(string AgentId, DateTimeOffset SuspendedAt)>> LoadSuspendedAsync(CancellationToken cancellationToken)
    {
        var suspended = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var change in audit.Changes.OfType<AgentSuspension>())
        {
            if (change.Suspended)
            {
                suspended.TryAdd(change.AgentId, change.At);
            }
            else
            {
                suspended.Remove(change.AgentId);
            }
        }

        return Task.FromResult<IReadOnlyList<(string, DateTimeOffset)>>([.. suspended.Select(s => (s.Key, s.Value))]);
    }
}
