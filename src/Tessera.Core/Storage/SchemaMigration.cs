namespace Tessera.Core.Storage;

/// <summary>What a migration did: the schema version found and the one left (equal when the schema was current).</summary>
public sealed record SchemaMigration(int FromVersion, int ToVersion)
{
    /// <summary>True when no step was applied.</summary>
    public bool WasCurrent => FromVersion == ToVersion;
}
