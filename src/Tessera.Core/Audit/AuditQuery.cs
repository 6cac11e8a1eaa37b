namespace Tessera.Core.Audit;

/// <summary>A filter over the audit log; all given conditions must hold.</summary>
public sealed record AuditQuery
{
    public string? Agent { get; init; }
    public string? Principal { get; init; }
    public string? Mission { get; init; }
    public string? Tool { get; init; }
    public string? Type { get; init; }
    public DateTimeOffset? Since { get; init; }

    /// <summary>
    /// Only events with a larger sequence number (for paging a store of one chain); on a store of one
    /// chain per node, when <see cref="AfterByNode"/> is not given, a place in this node's chain.
    /// </summary>
    public long AfterSeq { get; init; }

    /// <summary>
    /// On a store of one chain per node: only events after these sequence numbers in the named nodes'
    /// chains, and every event of a chain not named (for paging; see <see cref="AuditCursor"/>).
    /// </summary>
    public IReadOnlyDictionary<string, long>? AfterByNode { get; init; }

    public int Limit { get; init; } = 1000;
}
