using Npgsql;
using NpgsqlTypes;
using Tessera.Core.Audit;
using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres;

/// <summary>
/// Copies an embedded installation into an empty PostgreSQL database (<c>tessera storage copy</c>).
/// The rules: which tables are copied, with which columns (the two schemas hold the same values, see
/// <see cref="PostgresMigrations"/>); that a source table not listed here refuses the copy (nothing is
/// dropped silently); that "empty" means no row in any table of the schema but the migration
/// bookkeeping and the change log's never-pruned marker; that the audit events become the chain of
/// this store's node and must end exactly at the head the source verified to; that spent assertions
/// already expired are left behind; and that all of it is one transaction, so a failure leaves the
/// target as empty as it was. Rows are streamed with binary COPY, one at a time.
/// </summary>
internal sealed class PostgresImport(PostgresTesseraStore store)
{
    private sealed record Column(string Name, NpgsqlDbType Type);

    /// <summary>One table to copy; <c>PerNode</c> tables (the audit chain, the usage counters) are keyed by node on PostgreSQL and become the target node's rows.</summary>
    private sealed record Table(string Name, Column[] Columns, string OrderBy, bool LeaveExpired = false, bool PerNode = false);

    private static Column Text(string name) => new(name, NpgsqlDbType.Text);

    private static Column Long(string name) => new(name, NpgsqlDbType.Bigint);

    private static Column Int(string name) => new(name, NpgsqlDbType.Integer);

    private static Column Bytes(string name) => new(name, NpgsqlDbType.Bytea);

    private const string AuditTable = "audit_events";

    /// <summary>Every table of the embedded schema, in copy order; the audit events come first. Tables kept per node have no node column in the embedded schema: it is added here.</summary>
    private static readonly Table[] Tables =
    [
        new(AuditTable, [Long("seq"), Long("time_ms"), Text("type"), Text("agent"), Text("principal"), Text("mission"), Text("tool"), Bytes("json"), Text("hash")], "seq", PerNode: true),
        new("signing_keys", [Text("kid"), Text("alg"), Bytes("sealed"), Long("created_at"), Long("activates_at")], "kid"),
        new("revocations", [Int("kind"), Text("id"), Long("revoked_at"), Long("expires_at")], "kind, id"),
        new("agent_suspensions", [Text("agent_id"), Long("suspended_at")], "agent_id"),
        new("missions", [Text("id"), Text("principal"), Text("idp"), Text("actor_chain"), Text("purpose"), Long("started_at"), Long("expires_at")], "id"),
        new("approvals", [Text("id"), Text("status"), Text("client_id"), Long("created_at"), Long("expires_at"), Text("json")], "id"),
        new("vault_keys", [Text("id"), Bytes("salt"), Long("created_at")], "id"),
        new("secret_versions", [Text("name"), Int("version"), Long("created_at"), Text("key_id"), Bytes("wrapped_key"), Bytes("ciphertext"), Long("retired_at"), Long("destroy_after"), Long("destroyed_at")], "name, version"),
        new("token_uses", [Text("jti"), Int("used"), Int("max_uses"), Long("expires_at")], "jti"),
        new("used_assertions", [Text("key"), Long("expires_at")], "key", LeaveExpired: true),
        // Every lease, ended ones included (their history until pruned). Claims are not copied: they
        // belong to the stopped source's node, and each lease is free for the first node to claim.
        new("leases", [Text("id"), Text("tool"), Text("username"), Int("status"), Text("agent"), Text("principal"), Text("actor_chain"), Text("mission"),
            Text("purpose"), Text("jti"), Text("lineage"), Long("token_iat"), Text("scopes"), Long("created_at"), Long("expires_at"), Long("ended_at"),
            Text("end_reason"), Int("attempts"), Long("next_attempt_at"), Text("last_error"), Text("node")], "id"),
        new("agent_usage", [Text("agent"), Text("scope"), Long("last_at")], "agent, scope", PerNode: true),
        new("rule_usage", [Text("scope"), Text("rule"), Long("last_at")], "scope, rule", PerNode: true),
    ];

    public async Task<StoreCopyResult> RunAsync(ITableSnapshot source, AuditHead expectedHead, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var unknown = (await source.TablesAsync(cancellationToken)).Where(t => !Tables.Any(known => known.Name == t)).ToList();
        if (unknown.Count > 0)
        {
            throw new StoreCopyRefusedException($"the source has tables this build does not copy ({string.Join(", ", unknown)}); nothing was copied");
        }

        await using var connection = await store.OpenAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await RefuseUnlessEmptyAsync(connection, tx, cancellationToken);

        var rows = new List<KeyValuePair<string, long>>();
        foreach (var table in Tables)
        {
            rows.Add(new(table.Name, await CopyAsync(connection, source, table, now.ToUnixTimeMilliseconds(), cancellationToken)));
        }

        var head = await HeadAsync(connection, tx, cancellationToken);
        var copiedEvents = rows[0].Value;
        if (head != expectedHead || copiedEvents != expectedHead.Seq)
        {
            // The source changed after it was verified (a server still running on it), or a row did not survive the copy.
            throw new StoreCopyRefusedException(
                $"the copied audit chain ends at seq {head.Seq} ({copiedEvents} events), not at the verified head seq {expectedHead.Seq}; stop every tessera serve on the source and copy again; nothing was copied");
        }

        await tx.CommitAsync(cancellationToken);
        return new StoreCopyResult(store.NodeId, rows, head);
    }

    /// <summary>
    /// Locks every table of the schema against writers until commit (a node started on the target
    /// meanwhile waits), then refuses if any holds a row. The migration bookkeeping and the change
    /// log's pruning marker (one row from the migration, through 0) are the empty state.
    /// </summary>
    private static async Task RefuseUnlessEmptyAsync(NpgsqlConnection connection, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations' ORDER BY tablename", connection, tx))
        await using (var reader = await list.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                tables.Add(reader.GetString(0));
            }
        }

        var quoted = tables.Select(t => new NpgsqlCommandBuilder().QuoteIdentifier(t)).ToList();
        await using (var lockAll = new NpgsqlCommand($"LOCK TABLE {string.Join(", ", quoted)} IN EXCLUSIVE MODE", connection, tx))
        {
            await lockAll.ExecuteNonQueryAsync(cancellationToken);
        }

        var checks = tables.Select((t, i) => t == "changes_pruned"
            ? $"SELECT '{t.Replace("'", "''", StringComparison.Ordinal)}' WHERE EXISTS (SELECT 1 FROM {quoted[i]} WHERE through <> 0)"
            : $"SELECT '{t.Replace("'", "''", StringComparison.Ordinal)}' WHERE EXISTS (SELECT 1 FROM {quoted[i]})");
        var holding = new List<string>();
        await using (var check = new NpgsqlCommand(string.Join(" UNION ALL ", checks), connection, tx))
        await using (var reader = await check.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                holding.Add(reader.GetString(0));
            }
        }

        if (holding.Count > 0)
        {
            throw new StoreCopyRefusedException($"the target database is not empty (rows in {string.Join(", ", holding.Order(StringComparer.Ordinal))}); copy only into a database no Tessera node has used; nothing was copied");
        }
    }

    private async Task<long> CopyAsync(NpgsqlConnection connection, ITableSnapshot source, Table table, long nowMs, CancellationToken cancellationToken)
    {
        var perNode = table.PerNode;
        var targetColumns = (perNode ? ["node"] : Array.Empty<string>()).Concat(table.Columns.Select(c => c.Name));
        var expiresAt = table.LeaveExpired ? Array.FindIndex(table.Columns, c => c.Name == "expires_at") : -1;
        var count = 0L;
        await using var writer = await connection.BeginBinaryImportAsync($"COPY {table.Name} ({string.Join(", ", targetColumns)}) FROM STDIN (FORMAT BINARY)", cancellationToken);
        await foreach (var row in source.ReadAsync(table.Name, table.Columns.Select(c => c.Name).ToArray(), table.OrderBy, cancellationToken))
        {
            if (expiresAt >= 0 && row[expiresAt] is long expires && expires < nowMs)
            {
                continue;
            }

            await writer.StartRowAsync(cancellationToken);
            if (perNode)
            {
                await writer.WriteAsync(store.NodeId, NpgsqlDbType.Text, cancellationToken);
            }

            for (var i = 0; i < table.Columns.Length; i++)
            {
                await WriteAsync(writer, table, table.Columns[i], row[i], cancellationToken);
            }

            count++;
        }

        await writer.CompleteAsync(cancellationToken);
        return count;
    }

    /// <summary>A value as the target column holds it; a value of another type (SQLite does not enforce column types) refuses the copy.</summary>
    private static Task WriteAsync(NpgsqlBinaryImporter writer, Table table, Column column, object? value, CancellationToken cancellationToken) => (column.Type, value) switch
    {
        (_, null) => writer.WriteNullAsync(cancellationToken),
        (NpgsqlDbType.Bigint, long l) => writer.WriteAsync(l, NpgsqlDbType.Bigint, cancellationToken),
        (NpgsqlDbType.Integer, long l) when l is >= int.MinValue and <= int.MaxValue => writer.WriteAsync((int)l, NpgsqlDbType.Integer, cancellationToken),
        (NpgsqlDbType.Text, string s) => writer.WriteAsync(s, NpgsqlDbType.Text, cancellationToken),
        (NpgsqlDbType.Bytea, byte[] b) => writer.WriteAsync(b, NpgsqlDbType.Bytea, cancellationToken),
        _ => throw new StoreCopyRefusedException($"{table.Name}.{column.Name} holds a {value.GetType().Name} where the schema has {column.Type}; nothing was copied"),
    };

    private async Task<AuditHead> HeadAsync(NpgsqlConnection connection, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT seq, hash FROM audit_events WHERE node = @node ORDER BY seq DESC LIMIT 1", connection, tx);
        command.Parameters.Add(Sql.Text("node", store.NodeId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new AuditHead(reader.GetInt64(0), reader.GetString(1)) : new AuditHead(0, AuditEvent.GenesisHash);
    }
}
