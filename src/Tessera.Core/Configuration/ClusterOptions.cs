namespace Tessera.Core.Configuration;

/// <summary>
/// This process as one node of an installation: any number of <c>tessera serve</c> processes on one
/// PostgreSQL database form one installation.
/// </summary>
/// <param name="NodeId">
/// The node's name, unique in the installation: the key of its own audit hash chain (and, later, the
/// <c>node</c> of its audit events). Defaults to the host name.
/// </param>
/// <param name="MaxStaleness">
/// How long a change made on another node may take to be seen here. Read and kept; not yet enforced
/// (changes do not propagate between nodes yet).
/// </param>
public sealed record ClusterOptions(string NodeId, TimeSpan MaxStaleness)
{
    public static readonly TimeSpan DefaultMaxStaleness = TimeSpan.FromSeconds(1);

    public static ClusterOptions Default => new(DefaultNodeId, DefaultMaxStaleness);

    /// <summary>The host name, which is unique among the machines of one installation.</summary>
    public static string DefaultNodeId => Environment.MachineName;
}
