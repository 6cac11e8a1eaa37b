using System.Data;
using System.Runtime.CompilerServices;
using Npgsql;
using Tessera.Core.Audit;
using Tessera.Core.Posture;
using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres;

/// <summary>
/// The audit chains of every node: appends events to this node's chain (with the state changes they
/// record, written by <see cref="PostgresStateChanges"/> in the same transaction, so one group commit
/// of the <see cref="AuditLog"/> is one transaction and one WAL flush), and reads rows back for
/// queries and verification. Every row carries the node, and every event this store appends names it
/// (<see cref="AuditEvent.Node"/>). The head is this node's chain; queries, counts and verification
/// see every node's chain.
/// </summary>
/// <remarks>
/// A query pages with one sequence number per chain (<see cref="AuditCursor"/>), not with a global
/// ordering column: a column assigned at insert (an identity) becomes visible out of order when
/// transactions of several nodes commit in another order than they inserted, so a reader past one
/// number could miss a smaller one committed later; ordering commits instead would take a lock per
/// commit across the nodes. Each chain is committed in sequence order by its one writer, so the last
/// number read of a chain is a position nothing is ever committed before.
/// </remarks>
internal sealed class PostgresAuditStore(PostgresTesseraStore store, PostgresStateChanges stateChanges) : IAuditStore
{
    /// <summary>
    /// The nodes with a chain, one index probe each (a loose index scan of the primary key), rather
    /// than a scan of every event.
    /// </summary>
    private const string Nodes = """
        WITH RECURSIVE nodes(node) AS (
            SELECT min(node) FROM audit_events
            UNION ALL
            SELECT (SELECT min(node) FROM audit_events WHERE node > nodes.node) FROM nodes WHERE nodes.node IS NOT NULL)
        """;

    private const string InsertEvent = """
        INSERT INTO audit_events (node, seq, time_ms, type, agent, principal, mission, tool, json, hash)
        VALUES (@node, @seq, @time, @type, @agent, @principal, @mission, @tool, @json, @hash)
        """;

    public string? Node => store.NodeId;

    public async Task<IReadOnlyList<string>> ListNodesAsync(CancellationToken cancellationToken)
    {
        await using var command = store.Command($"{Nodes} SELECT node FROM nodes WHERE node IS NOT NULL");
        var nodes = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                nodes.Add(reader.GetString(0));
            }
        }

        nodes.Sort(StringComparer.Ordinal);
        return nodes;
    }

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
        if (changes.All(c => c is UsageObserved))
        {
            // Events alone with their usage counters (every token issued): the batch without BEGIN and
            // COMMIT is one round trip. Npgsql sends it with one Sync, so PostgreSQL runs it as one
            // implicit transaction, committed (and, with synchronous_commit, flushed) before it
            // answers, and rolled back whole if any statement fails: the same as the explicit
            // transaction below, minus the BEGIN and COMMIT round trips on the single writer's path.
            await using var alone = InsertBatch(connection, tx: null, events);
            foreach (var usage in changes)
            {
                foreach (var command in stateChanges.UsageCommands((UsageObserved)usage))
                {
                    alone.BatchCommands.Add(command);
                }
            }

            if (alone.BatchCommands.Count > 0)
            {
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

    public IAsyncEnumerable<AuditRow> ReadRowsAsync(long fromSeq, CancellationToken cancellationToken) =>
        ReadRowsAsync(store.NodeId, fromSeq, cancellationToken);

    public IAsyncEnumerable<AuditRow> ReadRowsAsync(string node, long fromSeq, CancellationToken cancellationToken) =>
        ReadRowsAsync(node, fromSeq, long.MaxValue, cancellationToken);

    /// <summary>Bounded in the query: Npgsql reads a result to its end when a reader is left early.</summary>
    public IAsyncEnumerable<AuditRow> ReadRowsAsync(long fromSeq, int limit, CancellationToken cancellationToken) =>
        ReadRowsAsync(store.NodeId, fromSeq, limit, cancellationToken);

    private async IAsyncEnumerable<AuditRow> ReadRowsAsync(string node, long fromSeq, long limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = store.Command(
            "SELECT seq, json, hash, time_ms, type, agent, principal, mission, tool, node FROM audit_events WHERE node = @node AND seq >= @from ORDER BY seq LIMIT @limit");
        command.Parameters.Add(Sql.Text("node", node));
        command.Parameters.Add(Sql.Long("from", fromSeq));
        command.Parameters.Add(Sql.Long("limit", limit));
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var seq = reader.GetInt64(0);
            var json = reader.GetFieldValue<byte[]>(1);
            var hash = reader.GetString(2);
            var columns = new AuditColumns(reader.GetInt64(3), reader.GetString(4), TextOrNull(reader, 5), TextOrNull(reader, 6), TextOrNull(reader, 7), TextOrNull(reader, 8));
            yield return new AuditRow(seq, json, hash, columns, reader.GetString(9));
        }
    }

    private static string? TextOrNull(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public async Task<long> CountAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        await using var command = store.Command("");
        command.CommandText = $"SELECT COUNT(*) FROM audit_events WHERE {Filter(command, query, "audit_events.node")}";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Every node's chain after the query's cursor: of each, the first events that match (at most the
    /// limit, in sequence order, one index range per node), merged by time (<see cref="AuditCursor.Merge"/>).
    /// </summary>
    public async Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        var limit = Math.Clamp(query.Limit, 1, 10_000);
        await using var command = store.Command("");
        command.CommandText = $"""
            {Nodes}
            SELECT e.node, e.json, e.hash FROM nodes CROSS JOIN LATERAL (
                SELECT node, seq, json, hash FROM audit_events
                WHERE node = nodes.node AND {Filter(command, query, "nodes.node")}
                ORDER BY seq LIMIT @limit) e
            WHERE nodes.node IS NOT NULL
            ORDER BY e.node, e.seq
            """;
        command.Parameters.Add(Sql.Int("limit", limit));
        var chains = new List<IReadOnlyList<AuditEvent>>();
        List<AuditEvent>? chain = null;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var node = reader.GetString(0);
                if (chain is null || !string.Equals(chain[0].Node, node, StringComparison.Ordinal))
                {
                    chains.Add(chain = []);
                }

                // The node is the chain the event is stored in, also for an event that names none.
                chain.Add(AuditEvent.Parse(reader.GetFieldValue<byte[]>(1), reader.GetString(2)) with { Node = node });
            }
        }

        return AuditCursor.Merge(chains, limit);
    }

    /// <summary>
    /// The WHERE clause of a query on every node's chain, with its parameters added to
    /// <paramref name="command"/>; <paramref name="node"/> is the expression naming the row's node.
    /// </summary>
    private string Filter(NpgsqlCommand command, AuditQuery query, string node)
    {
        var where = new List<string> { "TRUE" };

        // A single sequence number is a place in this node's chain, as on a store of one chain.
        var after = query.AfterByNode ?? (query.AfterSeq > 0 ? new Dictionary<string, long> { [store.NodeId] = query.AfterSeq } : null);
        if (after is { Count: > 0 })
        {
            where.Add($"seq > COALESCE((SELECT c.seq FROM unnest(@after_nodes, @after_seqs) AS c(node, seq) WHERE c.node = {node}), 0)");
            command.Parameters.Add(new NpgsqlParameter<string[]>("after_nodes", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text) { TypedValue = [.. after.Keys] });
            command.Parameters.Add(new NpgsqlParameter<long[]>("after_seqs", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Bigint) { TypedValue = [.. after.Values] });
        }

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
