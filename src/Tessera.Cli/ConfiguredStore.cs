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
    /// <c>sqlite:PATH</c>, otherwise PostgreSQL (a <c>postgres://</c> URL or a keyword string, already checked by
    /// the configuration loader; the password may come from <see cref="PostgresTesseraStore.PasswordVariable"/>),
    /// writing this node's audit chain as <see cref="ClusterOptions.NodeId"/>.
    /// </summary>
    public static ITesseraStore Open(TesseraConfig config, bool readOnly = false) =>
        IsShared(config)
            ? PostgresTesseraStore.FromLocation(config.Storage, config.Cluster.NodeId, readOnly)
            : SqliteTesseraStore.FromLocation(config.Storage, readOnly);
}
