using System.Text.Json;
using Npgsql;
using Tessera.Core.Leases;

namespace Tessera.Storage.Postgres;

internal sealed class PostgresLeaseStore(PostgresTesseraStore store) : ILeaseStore
{
    private const string Columns = """
        id, tool, username, status, agent, principal, actor_chain, mission, purpose, jti, lineage, token_iat, scopes,
        created_at, expires_at, ended_at, end_reason, attempts, next_attempt_at, last_error, node
        """;

    /// <summary>
    /// One statement for the whole batch: each row's lock is taken as the update reaches it and the
    /// condition is re-evaluated on the row as a concurrent claim left it, so two nodes claiming the
    /// same ids at once each take a disjoint set (the second sees the first's claim and skips the row).
    /// </summary>
    private const string Claim = """
        UPDATE leases SET claimed_by = @node, claimed_until = @until
        WHERE id = ANY(@ids) AND status <> 3 AND (claimed_until IS NULL OR claimed_until <= @now OR claimed_by = @node)
        RETURNING id
        """;

    public async Task OpenAsync(Lease lease, CancellationToken cancellationToken)
    {
        await using var command = store.Command($"""
            INSERT INTO leases ({Columns})
            VALUES (@id, @tool, @username, @status, @agent, @principal, @chain, @mission, @purpose, @jti, @lineage, @iat, @scopes,
                    @created, @expires, NULL, NULL, 0, NULL, NULL, @node)
            """);
        command.Parameters.Add(Sql.Text("id", lease.Id));
        command.Parameters.Add(Sql.Text("tool", lease.Tool));
        command.Parameters.Add(Sql.Text("username", lease.Username));
        command.Parameters.Add(Sql.Int("status", (int)lease.Status));
        command.Parameters.Add(Sql.Text("agent", lease.Agent));
        command.Parameters.Add(Sql.Text("principal", lease.Principal));
        command.Parameters.Add(Sql.Text("chain", JsonSerializer.Serialize(lease.ActorChain)));
        command.Parameters.Add(Sql.Text("mission", lease.Mission));
        command.Parameters.Add(Sql.Text("purpose", lease.Purpose));
        command.Parameters.Add(Sql.Text("jti", lease.Jti));
        command.Parameters.Add(Sql.Text("lineage", JsonSerializer.Serialize(lease.Lineage)));
        command.Parameters.Add(Sql.Long("iat", lease.TokenIssuedAt));
        command.Parameters.Add(Sql.Text("scopes", JsonSerializer.Serialize(lease.Scopes)));
        command.Parameters.Add(Sql.Ms("created", lease.CreatedAt));
        command.Parameters.Add(Sql.Ms("expires", lease.ExpiresAt));
        command.Parameters.Add(Sql.Text("node", lease.Node));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<Lease?> FindAsync(string id, CancellationToken cancellationToken)
    {
        var found = await QueryAsync($"SELECT {Columns} FROM leases WHERE id = @id", cancellationToken, Sql.Text("id", id));
        return found.Count == 0 ? null : found[0];
    }

    public Task<IReadOnlyList<Lease>> LoadLiveAsync(CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {Columns} FROM leases WHERE status <> 3 ORDER BY created_at", cancellationToken);

    public Task<IReadOnlyList<Lease>> ListAsync(bool includeEnded, int limit, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {Columns} FROM leases {(includeEnded ? "" : "WHERE status <> 3")} ORDER BY created_at DESC LIMIT @limit", cancellationToken,
            Sql.Int("limit", Math.Clamp(limit, 1, 10_000)));

    public async Task<IReadOnlyList<string>> ClaimAsync(IReadOnlyList<string> ids, string node, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        await using var command = store.Command(Claim);
        command.Parameters.Add(Sql.Text("node", node));
        command.Parameters.Add(Sql.Ms("until", until));
        command.Parameters.Add(Sql.TextArray("ids", [.. ids]));
        command.Parameters.Add(Sql.Ms("now", now));
        var claimed = new List<string>(ids.Count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            claimed.Add(reader.GetString(0));
        }

        return claimed;
    }

    public async Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var command = store.Command("DELETE FROM leases WHERE status = 3 AND ended_at < @before");
        command.Parameters.Add(Sql.Ms("before", before));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<IReadOnlyList<Lease>> QueryAsync(string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = store.Command(sql);
        command.Parameters.AddRange(parameters);
        var leases = new List<Lease>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            leases.Add(Read(reader));
        }

        return leases;
    }

    private static Lease Read(NpgsqlDataReader r) => new()
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
        CreatedAt = Sql.Time(r.GetInt64(13)),
        ExpiresAt = Sql.Time(r.GetInt64(14)),
        EndedAt = r.IsDBNull(15) ? null : Sql.Time(r.GetInt64(15)),
        EndReason = r.IsDBNull(16) ? null : r.GetString(16),
        Attempts = r.GetInt32(17),
        NextAttemptAt = r.IsDBNull(18) ? null : Sql.Time(r.GetInt64(18)),
        LastError = r.IsDBNull(19) ? null : r.GetString(19),
        Node = r.IsDBNull(20) ? null : r.GetString(20),
    };
}
