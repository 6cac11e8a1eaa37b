using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Leases;
using Tessera.Core.Storage;
using Tessera.Core.Tools;
using Tessera.Core.Vault;

namespace Tessera.Core.Posture;

/// <summary>
/// Gathers what the posture report is computed from at one moment (the registry, suspensions, the
/// tools, the vault's metadata, the usage counters, the nodes seen lately) and hands it to
/// <see cref="PostureAnalyzer"/>. Reads counters, never the audit log, so a report over millions of
/// events answers at once.
/// </summary>
public sealed class PostureService(LiveConfig live, SuspendedAgents suspended, SecretVault vault, IUsageStore usage, ILeaseStore leases,
    TimeProvider time, Audit.Sinks.AuditSinks? sinks = null, Cluster.NodeStatus? nodes = null)
{
    public async Task<PostureReport> ReportAsync(CancellationToken cancellationToken)
    {
        var counters = await usage.ReadAsync(cancellationToken);
        var failing = (await leases.LoadLiveAsync(cancellationToken)).Where(l => l.Status == LeaseStatus.Ending && l.Attempts > 0).ToList();
        var seen = nodes is null ? null : await nodes.ListAsync(cancellationToken);
        var snapshot = live.Current;
        var config = snapshot.Config;
        return PostureAnalyzer.Analyze(new PostureInput([.. snapshot.Agents.All], suspended.IsSuspended, [.. snapshot.Tools.All], vault.List(), counters, config.Tokens, config.Posture,
            time.GetUtcNow(), failing, sinks?.Status(), seen));
    }
}
