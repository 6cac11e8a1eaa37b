using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Tools;
using Tessera.Core.Vault;

namespace Tessera.Core.Posture;

/// <summary>Everything the posture report is computed from, read at one moment.</summary>
/// <param name="Agents">Every registered agent.</param>
/// <param name="IsSuspended">Whether an agent's issuance is stopped.</param>
/// <param name="Tools">Every configured tool.</param>
/// <param name="Secrets">The vault's secrets (metadata only; a value is never read).</param>
/// <param name="Usage">The usage counters.</param>
/// <param name="Tokens">The server's token lifetimes (an agent without <c>max_ttl</c> is bounded by the server's).</param>
/// <param name="Options">The report's thresholds.</param>
/// <param name="Now">The moment the report is for.</param>
/// <param name="FailingLeases">Leases due to end whose last attempt to end failed (<c>lease.revoke_failing</c>).</param>
/// <param name="AuditSinks">How far each audit sink has got (<c>audit.sink_failing</c>, <c>audit.sink_behind</c>).</param>
/// <param name="Nodes">The nodes of the installation seen lately and the configuration each runs (<c>config.nodes_differ</c>).</param>
public sealed record PostureInput(
    IReadOnlyCollection<Agent> Agents,
    Func<string, bool> IsSuspended,
    IReadOnlyCollection<Tool> Tools,
    IReadOnlyList<SecretInfo> Secrets,
    PostureUsage Usage,
    TokenOptions Tokens,
    PostureOptions Options,
    DateTimeOffset Now,
    IReadOnlyList<Leases.Lease>? FailingLeases = null,
    IReadOnlyList<Audit.Sinks.AuditSinkStatus>? AuditSinks = null,
    IReadOnlyList<Cluster.NodeConfig>? Nodes = null);
