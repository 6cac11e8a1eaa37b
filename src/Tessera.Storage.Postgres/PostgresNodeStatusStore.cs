using Tessera.Core.Cluster;
using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres;

/// <summary>The <c>node_status</c> table: one row per node, replaced by each of its reports.</summary>
internal sealed class PostgresNodeStatusStore(PostgresTesseraStore store) : INodeStatusStore
{
    public async Task ReportAsync(NodeConfig status, CancellationToken cancellationToken)
    {
        await using var command = store.Command("""
            INSERT INTO node_status (node, config_hash, loaded_at, seen_at) VALUES (@node, @hash, @loaded, @seen)
            ON CONFLICT (node) DO UPDATE SET config_hash = EXCLUDED.config_hash, loaded_at = EXCLUDED.loaded_at, seen_at = EXCLUDED.seen_at
            """);
        command.Parameters.Add(Sql.Text("node", status.Node));
        command.Parameters.Add(Sql.Text("hash", status.ConfigHash));
        command.Parameters.Add(Sql.Ms("loaded", status.LoadedAt));
        command.Parameters.Add(Sql.Ms("seen", status.SeenAt));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<NodeConfig>> ListAsync(DateTimeOffset seenSince, CancellationToken cancellationToken)
    {
        await using var command = store.Command("SELECT node, config_hash, loaded_at, seen_at FROM node_status WHERE seen_at >= @since ORDER BY node");
        command.Parameters.Add(Sql.Ms("since", seenSince));
        var nodes = new List<NodeConfig>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            nodes.Add(new NodeConfig(reader.GetString(0), reader.GetString(1), Sql.Time(reader.GetInt64(2)), Sql.Time(reader.GetInt64(3))));
        }

        return nodes;
    }
}
