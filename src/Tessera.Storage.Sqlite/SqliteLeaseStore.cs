using System.Text.Json;
using Microsoft.Data.Sqlite;
using Tessera.Core.Leases;

namespace Tessera.Storage.Sqlite;

internal sealed class SqliteLeaseStore(SqliteTesseraStore store) : ILeaseStore
{
    internal const string Columns = """
        id, tool, username, status, agent, principal, actor_chain, mission, purpose, jti, lineage, token_iat, scopes,
        created_at, expires_at, ended_at, end_reason, attempts, next_attempt_at, last_error, node
        """;

    public Task OpenAsync(Lease lease, CancellationToken cancellationToken) =>
        store.WithWriterAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"""
                INSERT INTO leases ({Columns})
                VALUES ($id, $tool, $username, $status, $agent, $principal, $chain, $mission, $purpose, $jti, $lineage, $iat, $scopes,
                        $created, $expires, NULL, NULL, 0, NULL, NULL, $node)
                """;
            command.Parameters.AddWithValue("$id", lease.Id);
            command.Parameters.AddWithValue("$tool", lease.Tool);
            command.Parameters.AddWithValue("$username", lease.Username);
            command.Parameters.AddWithValue("$status", (int)lease.Status);
            command.Parameters.AddWithValue("$agent", lease.Agent);
            command.Parameters.AddWithValue("$principal", (object?)lease.Principal ?? DBNull.Value);
            command.Parameters.AddWithValue("$chain", JsonSerializer.Serialize(lease.ActorChain));
            command.Parameters.AddWithValue("$mission", (object?)lease.Mission ?? DBNull.Value);
            command.Parameters.AddWithValue("$purpose", (object?)lease.Purpose ?? DBNull.Value);
            command.Parameters.AddWithValue("$jti", lease.Jti);
            command.Parameters.AddWithValue("$lineage", JsonSerializer.Serialize(lease.Lineage));
            command.Parameters.AddWithValue("$iat", lease.TokenIssuedAt);
            command.Parameters.AddWithValue("$scopes", JsonSerializer.Serialize(lease.Scopes));
            command.Parameters.AddWithValue("$created", lease.CreatedAt.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$expires", lease.ExpiresAt.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$node", (object?)lease.Node ?? DBNull.Value);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    public async Task<Lease?> FindAsync(string id, CancellationToken cancellationToken)
    {
        var found = await QueryAsync($"SELECT {Columns} FROM leases WHERE id = $id", c => c.Parameters.AddWithValue("$id", id), cancellationToken);
        return found.Count == 0 ? null : found[0];
    }

    public Task<IReadOnlyList<Lease>> LoadLiveAsync(CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {Columns} FROM leases WHERE status <> 3 ORDER BY created_at", _ => { }, cancellationToken);

    public Task<IReadOnlyList<Lease>> ListAsync(bool includeEnded, int limit, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {Columns} FROM leases {(includeEnded ? "" : "WHERE status <> 3")} ORDER BY created_at DESC LIMIT $limit",
            c => c.Parameters.AddWithValue("$limit", Math.Clamp(limit, 1, 10_000)), cancellationToken);

    public Task<IReadOnlyList<string>> ClaimAsync(IReadOnlyList<string> ids, string node, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken) =>
        store.WithWriterAsync(async connection =>
        {
            // One statement per id on the single writer, in one transaction: SQLite is one node, so the
            // claim only matters to the contract every store keeps.
            var claimed = new List<string>(ids.Count);
            await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = """
                UPDATE leases SET claimed_by = $node, claimed_until = $until
                WHERE id = $id AND status <> 3 AND (claimed_until IS NULL OR claimed_until <= $now OR claimed_by = $node)
                """;
            var id = command.Parameters.Add("$id", SqliteType.Text);
            command.Parameters.AddWithValue("$node", node);
            command.Parameters.AddWithValue("$until", until.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            foreach (var leaseId in ids)
            {
                id.Value = leaseId;
                if (await command.ExecuteNonQueryAsync(cancellationToken) == 1)
                {
                    claimed.Add(leaseId);
                }
            }

            await tx.CommitAsync(cancellationToken);
            return (IReadOnlyList<string>)claimed;
        }, cancellationToken);

    public Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken) =>
        store.WithWriterAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM leases WHERE status = 3 AND ended_at < $before";
            command.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    private async Task<IReadOnlyList<Lease>> QueryAsync(string sql, Action<SqliteCommand> bind, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        bind(command);
        var leases = new List<Lease>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            leases.Add(Read(reader));
        }

        return leases;
    }

    private static Lease Read(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        Tool = r.GetString(1),
        Username = r.GetString(2),
        Status = (LeaseStatus)r.GetInt32(3),
        Agent = r.GetString(4),
        Principal = r.IsDBNull(5) ? null : r.GetString(5),
        ActorChain = JsonSerializer.Deserialize<List<string>>(r.GetString(6)) ?? [],
        Mission = r.IsDBNull(7) ? null : r.GetString(7),
        Purpose = r.IsDBNull(8) ? null : r.GetString(8),
        Jti = r.GetString(9),
        Lineage = JsonSerializer.Deserialize<List<string>>(r.GetString(10)) ?? [],
        TokenIssuedAt = r.GetInt64(11),
        Scopes = JsonSerializer.Deserialize<List<string>>(r.GetString(12)) ?? [],
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(13)),
        ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(14)),
        EndedAt = r.IsDBNull(15) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(15)),
        EndReason = r.IsDBNull(16) ? null : r.GetString(16),
        Attempts = r.GetInt32(17),
        NextAttemptAt = r.IsDBNull(18) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(18)),
        LastError = r.IsDBNull(19) ? null : r.GetString(19),
        Node = r.IsDBNull(20) ? null : r.GetString(20),
    };
}
