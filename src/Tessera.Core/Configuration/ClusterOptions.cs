namespace Tessera.Core.Configuration;

/// <summary>
/// This process as one node of an installation: any number of <c>tessera serve</c> processes on one
/// PostgreSQL database form one installation.
/// </summary>
/// <param name="NodeId">
/// The node's name, unique in the installation: the key of its own audit hash chain. Defaults to the host name.
/// </param>
/// <param name="MaxStaleness">
/// How long this node may go without confirming that it has applied every change made on other nodes;
/// past it, it refuses to validate tokens (503 <c>cluster.stale</c>) and fails <c>/readyz</c> until it has caught up.
/// </param>
public sealed record ClusterOptions(string NodeId, TimeSpan MaxStaleness)
{
    public static readonly TimeSpan DefaultMaxStaleness = TimeSpan.FromSeconds(1);

    public static ClusterOptions Default => new(DefaultNodeId, DefaultMaxStaleness);

    /// <summary>The host name, which is unique among the machines of one installation.</summary>
    public static string DefaultNodeId => Environment.MachineName;
}
