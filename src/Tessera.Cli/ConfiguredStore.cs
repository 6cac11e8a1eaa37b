using Tessera.Core.Configuration;
using Tessera.Core.Storage;
using Tessera.Storage.Postgres;
using Tessera.Storage.Sqlite;

namespace Tessera.Cli;

/// <summary>The one place that picks the store for a configuration's <c>storage</c> value.</summary>
internal static class ConfiguredStore
{
    /// <summary>True for storage that lives outside this machine's files (PostgreSQL), false for SQLite.</summary>
    public static bool IsShared(TesseraConfig config) => !config.Storage.StartsWith("sqlite:", StringComparison.Ordinal);

    /// <summary>
    /// The store for <paramref name="config"/> (opened read-only when asked): SQLite for
    /// <c>sqlite:PATH</c>, otherwise PostgreSQL (a <c>postgres://</c> URL or a keyword string whose
    /// shape the configuration loader checked; the password may come from <see cref="PostgresTesseraStore.PasswordVariable"/>),
    /// writing this node's audit chain as <see cref="ClusterOptions.NodeId"/>. Throws
    /// <see cref="ConfigException"/> naming <c>storage</c> when Npgsql refuses a keyword or value in it
    /// (the message never repeats the value: it may hold a password).
    /// </summary>
    public static ITesseraStore Open(TesseraConfig config, bool readOnly = false)
    {
        if (!IsShared(config))
        {
            return SqliteTesseraStore.FromLocation(config.Storage, readOnly);
        }

        try
        {
            return PostgresTesseraStore.FromLocation(config.Storage, config.Cluster.NodeId, readOnly);
        }
        catch (ArgumentException ex)
        {
            var problem = ex.Message.Replace($" (Parameter '{ex.ParamName}')", "", StringComparison.Ordinal);
            throw new ConfigException(config.SourcePath is { } source ? Path.GetFileName(source) : "tessera.yaml", "storage",
                $"{problem} (keys and values are Npgsql's: for example sslmode=VerifyFull, not verify-full)");
        }
    }
}
