using Tessera.Core.Configuration;
using Tessera.Core.Storage;

namespace Tessera.Core.Cluster;

/// <summary>
/// Which configuration each node of the installation runs (docs/operations.md, "Reloading the
/// configuration"): every node reports its own every <see cref="Heartbeat"/> and right after a
/// reload; a node silent for <see cref="Gone"/> is no longer listed. A node alone (no shared store)
/// lists itself.
/// </summary>
/// <param name="live">The running configuration, whose hash this node reports.</param>
/// <param name="store">Where the nodes report, or null for a node alone.</param>
/// <param name="time">The clock of every report and listing.</param>
/// <param name="node">
/// This node's id when it is not the configuration's <c>cluster.node_id</c>: only tests set it, which
/// run several nodes in one process from identical files (so all would default to one host name).
/// </param>
public sealed class NodeStatus(LiveConfig live, INodeStatusStore? store, TimeProvider time, string? node = null)
{
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(30);

    /// <summary>Four heartbeats missed: the node stopped (or cannot reach the database) and is left out.</summary>
    public static readonly TimeSpan Gone = TimeSpan.FromMinutes(2);

    /// <summary>This node's id.</summary>
    public string Node => node ?? live.Config.Cluster.NodeId;

    /// <summary>This node as it would report now.</summary>
    public NodeConfig Self
    {
        get
        {
            var running = live.Latest;
            return new NodeConfig(node ?? running.Config.Cluster.NodeId, running.Hash, running.LoadedAt, time.GetUtcNow());
        }
    }

    public Task ReportAsync(CancellationToken cancellationToken) => store?.ReportAsync(Self, cancellationToken) ?? Task.CompletedTask;

    /// <summary>Every node seen within <see cref="Gone"/>, this one as it is now, ordered by id.</summary>
    public async Task<IReadOnlyList<NodeConfig>> ListAsync(CancellationToken cancellationToken)
    {
        var self = Self;
        var others = store is null ? [] : await store.ListAsync(self.SeenAt - Gone, cancellationToken);
        return [.. others.Where(n => n.Node != self.Node).Append(self).OrderBy(n => n.Node, StringComparer.Ordinal)];
    }
}
