namespace Tessera.Core.Cluster;

/// <summary>A node and the configuration it runs, as it last reported them.</summary>
/// <param name="Node">The node's id (<c>cluster.node_id</c>).</param>
/// <param name="ConfigHash">The hash of its running configuration.</param>
/// <param name="LoadedAt">When that configuration was loaded (start or reload).</param>
/// <param name="SeenAt">When the node last reported.</param>
public sealed record NodeConfig(string Node, string ConfigHash, DateTimeOffset LoadedAt, DateTimeOffset SeenAt)
{
    /// <summary>How many different configurations <paramref name="nodes"/> run: more than one, and they disagree.</summary>
    public static int ConfigurationsRun(IEnumerable<NodeConfig> nodes) => nodes.Select(n => n.ConfigHash).Distinct(StringComparer.Ordinal).Count();
}
