namespace Tessera.Core.Storage;

/// <summary>
/// Where the nodes of one installation say which configuration they run (a store shared by several
/// nodes; a store that is one node by construction has none). One row per node, replaced at each report.
/// </summary>
public interface INodeStatusStore
{
    /// <summary>Records (or replaces) this node's row.</summary>
    Task ReportAsync(Cluster.NodeConfig status, CancellationToken cancellationToken);

    /// <summary>Every node that reported at or after <paramref name="seenSince"/>.</summary>
    Task<IReadOnlyList<Cluster.NodeConfig>> ListAsync(DateTimeOffset seenSince, CancellationToken cancellationToken);
}
