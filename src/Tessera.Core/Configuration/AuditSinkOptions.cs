namespace Tessera.Core.Configuration;

/// <summary>
/// One audit sink (<c>audit.sinks</c>): a follower that streams every committed audit event of this
/// node's chain as one JSON line, for a SIEM collector. The store stays the record and the fail-closed gate.
/// </summary>
/// <param name="Name">Names the sink in metrics, posture findings and logs, and its cursor file (<c>data_dir/audit-sinks/NAME.cursor</c>).</param>
/// <param name="Kind">File or standard output.</param>
/// <param name="Path">The file (absolute) for <see cref="AuditSinkKind.File"/>; null for standard output.</param>
/// <param name="MaxSize">The size in bytes past which the file is rotated.</param>
/// <param name="Keep">How many rotated files (<c>PATH.1</c> … <c>PATH.Keep</c>) are kept beside the current one.</param>
public sealed record AuditSinkOptions(string Name, AuditSinkKind Kind, string? Path, long MaxSize, int Keep)
{
    public const long DefaultMaxSize = 100L * 1024 * 1024;
    public const int DefaultKeep = 10;

    /// <summary>A rotated file smaller than this would rotate for nearly every batch.</summary>
    public const long MinMaxSize = 1024;
}
