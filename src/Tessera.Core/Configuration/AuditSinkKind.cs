namespace Tessera.Core.Configuration;

/// <summary>Where an audit sink writes its JSON Lines.</summary>
public enum AuditSinkKind
{
    /// <summary>A file, rotated by size.</summary>
    File,

    /// <summary>The process's standard output (logs then go to standard error).</summary>
    Stdout,
}
