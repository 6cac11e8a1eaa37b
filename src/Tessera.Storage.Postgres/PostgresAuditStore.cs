using System.Data;
using System.Runtime.CompilerServices;
using Npgsql;
using Tessera.Core.Audit;
using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres;

/// <summary>
/// This node's audit chain: appends events (with the state changes they record, written by
/// <see cref="PostgresStateChanges"/> in the same transaction, so one group commit of the
/// <see cref="AuditLog"/> is one transaction and one WAL flush), and reads rows back for queries and
/// verification. Every row carries the node; reads and the head are this node's chain only.
/// </summary>
/// <remarks>
/// Queries and counts are this node's chain too: a sequence number (and so <see cref="AuditQuery.AfterSeq"/>)
/// means something only within one chain. Reading the events of every node in one order is for the
/// phase that propagates changes between nodes.
/// </remarks>
internal sealed class PostgresAuditStore(PostgresTesseraStore store, IStateChangeApplier<NpgsqlTransaction> stateChanges) : IAuditStore
{
    private const string InsertEvent = """
        INSERT INTO audit_events (node, seq, time_ms, type, agent, principal, mission, tool, json, hash)
        VALUES (@node, @seq, @time, @type, @agent, @principal, @mission, @tool, @json, @hash)
        """;

    public async Task<AuditHead> GetHeadAsync(CancellationToken cancellationToken)
    {
        await using var command = store.Command("SELECT seq, hash FROM audit_events WHERE node = @node ORDER BY seq DESC LIMIT 1");
        command.Parameters.Add(Sql.Text("node", store.NodeId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new AuditHead(reader.GetInt64(0), reader.GetString(1))
            : new AuditHead(0, AuditEvent.GenesisHash);
    }

    public async Task AppendAsync(IReadOnlyList<AuditEvent> events, IReadOnlyList<StateChange> changes, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenAsync(cancellationToken);
        if (changes.Count == 0)
        {
            // Events alone (every token issued): the batch without BEGIN and COMMIT is one round trip.
            // Npgsql sends it with one Sync, so PostgreSQL runs it as one implicit transaction,
            // committed (and, with synchronous_commit, flushed) before it answers, and rolled back
            // whole if any insert fails: the same as the explicit transaction below, minus the
            // COMMIT's round trip on the single writer's path.
            if (events.Count > 0)
            {
                await using var alone = InsertBatch(connection, tx: null, events);
                await alone.ExecuteNonQueryAsync(cancellationToken);
            }

            return;
        }

        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        if (events.Count > 0)
        {
            await using var batch = InsertBatch(connection, tx, events);
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        List<ClusterChange>? announced = null;
        foreach (var change in changes)
        {
            await change.ApplyAsync(stateChanges, tx, cancellationToken);
            if (ClusterChange.Announcing(change) is { } entry)
            {
                (announced ??= []).Add(entry);
            }
        }

        if (announced is not null)
        {
            await AnnounceAsync(tx, announced, cancellationToken);
        }

        // Disposing the transaction without this commit rolls the whole batch back.
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>Every insert of the group in one batch: one round trip.</summary>
    private NpgsqlBatch InsertBatch(NpgsqlConnection connection, NpgsqlTransaction? tx, IReadOnlyList<AuditEvent> events)
    {
        var batch = new NpgsqlBatch(connection, tx);
        foreach (var e in events)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(InsertEvent)
            {
                Parameters =
                {
                    Sql.Text("node", store.NodeId),
                    Sql.Long("seq", e.Seq),
                    Sql.Ms("time", e.Time),
                    Sql.Text("type", e.Record.Type),
                    Sql.Text("agent", e.Record.Agent),
                    Sql.Text("principal", e.Record.Principal),
                    Sql.Text("mission", e.Record.Mission),
                    Sql.Text("tool", e.Record.Tool),
                    Sql.Bytes("json", e.Json),
                    Sql.Text("hash", e.Hash),
                },
            });
        }

        return batch;
    }

    /// <summary>
    /// Appends <paramref name="announced"/> to the change log and notifies the listening nodes, in
    /// the transaction of the changes: the entries and the notification exist if and only if the
    /// changes commit (PostgreSQL delivers a NOTIFY at commit, never after a rollback).
    /// </summary>
    /// <remarks>
    /// The advisory lock (held to commit) makes log ids visible in ascending order, which is what lets
    /// a reader keep one number, the last id applied. Taken last, after the events and the changes
    /// are written, so it is held only for these inserts and the commit; only transactions that
    /// change in-memory state (revocations, keys, suspensions, vault, approvals, all rare next to
    /// token issuance) take it.
    /// </remarks>
    private static async Task AnnounceAsync(NpgsqlTransaction tx, List<ClusterChange> announced, CancellationToken cancellationToken)
    {
        var kinds = new int[announced.Count];
        var keys = new string[announced.Count];
        for (var i = 0; i < announced.Count; i++)
        {
            kinds[i] = (int)announced[i].Kind;
            keys[i] = announced[i].Key;
        }

        await using var command = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock({PostgresChangeFeed.LogLock});
            WITH added AS (
                INSERT INTO changes (kind, key) SELECT kind, key FROM unnest(@kinds, @keys) WITH ORDINALITY AS c(kind, key, n) ORDER BY n RETURNING id)
            SELECT pg_notify('{PostgresChangeFeed.Channel}', MAX(id)::text) FROM added;
            """, tx.Connection, tx);
        command.Parameters.Add(new NpgsqlParameter<int[]>("kinds", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Integer) { TypedValue = kinds });
        command.Parameters.Add(new NpgsqlParameter<string[]>("keys", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text) { TypedValue = keys });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async IAsyncEnumerable<AuditRow> ReadRowsAsync(long fromSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = store.Command(
            "SELECT seq, json, hash, time_ms, type, agent, principal, mission, tool FROM audit_events WHERE node = @node AND seq >= @from ORDER BY seq");
        command.Parameters.Add(Sql.Text("node", store.NodeId));
        command.Parameters.Add(Sql.Long("from", fromSeq));
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var seq = reader.GetInt64(0);
            var json = reader.GetFieldValue<byte[]>(1);
            var hash = reader.GetString(2);
            var columns = new AuditColumns(reader.GetInt64(3), reader.GetString(4), TextOrNull(reader, 5), TextOrNull(reader, 6), TextOrNull(reader, 7), TextOrNull(reader, 8));
            yield return new AuditRow(seq, json, hash, columns);
        }
    }

    private static string? TextOrNull(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public async Task<long> CountAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        await using var command = store.Command("");
        command.CommandText = $"SELECT COUNT(*) FROM audit_events WHERE {Filter(command, query)}";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        await using var command = store.Command("");
        command.CommandText = $"SELECT json, hash FROM audit_events WHERE {Filter(command, query)} ORDER BY seq LIMIT @limit";
        command.Parameters.Add(Sql.Int("limit", Math.Clamp(query.Limit, 1, 10_000)));
        var events = new List<AuditEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(AuditEvent.Parse(reader.GetFieldValue<byte[]>(0), reader.GetString(1)));
        }

        return events;
    }

    /// <summary>The WHERE clause of a query on this node's chain, with its parameters added to <paramref name="command"/>.</summary>
    private string Filter(NpgsqlCommand command, AuditQuery query)
    {
        var where = new List<string> { "node = @node", "seq > @after" };
        command.Parameters.Add(Sql.Text("node", store.NodeId));
        command.Parameters.Add(Sql.Long("after", query.AfterSeq));
        Add("agent", query.Agent);
        Add("principal", query.Principal);
        Add("mission", query.Mission);
        Add("tool", query.Tool);
        Add("type", query.Type);
        if (query.Since is { } since)
        {
            where.Add("time_ms >= @since");
            command.Parameters.Add(Sql.Ms("since", since));
        }

        return string.Join(" AND ", where);

        void Add(string column, string? value)
        {
            if (value is not null)
            {
                // The column name is one of ours, never caller input; the value is a parameter.
                where.Add($"{column} = @{column}");
                command.Parameters.Add(Sql.Text(column, value));
            }
        }
    }
}
