using System.Collections.Concurrent;
using Tessera.Core.Audit;
using Tessera.Core.Storage;

namespace Tessera.Core.Identity;

/// <summary>
/// Agents whose issuance is stopped (<c>tessera agent suspend</c>). Suspension refuses new tokens at
/// client authentication; it does not touch tokens already issued (that is what revocation does).
/// Durable with its audit event; held in memory for the hot path.
/// </summary>
public sealed class SuspendedAgents(IAgentStateStore store, AuditLog audit, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _suspended = new(StringComparer.Ordinal);

    public bool IsSuspended(string agentId) => !_suspended.IsEmpty && _suspended.ContainsKey(agentId);

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        foreach (var (agent, at) in await store.LoadSuspendedAsync(cancellationToken))
        {
            _suspended[agent] = at;
        }
    }

    /// <summary>Replaces the set with what the store holds, after another node suspended or resumed an agent.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        var stored = await store.LoadSuspendedAsync(cancellationToken);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (agent, at) in stored)
        {
            _suspended[agent] = at;
            ids.Add(agent);
        }

        foreach (var agent in _suspended.Keys)
        {
            if (!ids.Contains(agent))
            {
                _suspended.TryRemove(agent, out _);
            }
        }
    }

    public async Task SetAsync(string agentId, bool suspended, string by, string? requestId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await audit.AppendAsync(new AuditRecord
        {
            Type = suspended ? AuditTypes.AgentSuspended : AuditTypes.AgentResumed,
            Outcome = AuditOutcomes.Allowed,
            Agent = agentId,
            Principal = by,
            Reason = suspended ? $"issuance to {agentId} stopped by {by}" : $"issuance to {agentId} restarted by {by}",
            RequestId = requestId,
        }, new AgentSuspension(agentId, suspended, now), cancellationToken);
        if (suspended)
        {
            _suspended[agentId] = now;
        }
        else
        {
            _suspended.TryRemove(agentId, out _);
        }
    }
}
