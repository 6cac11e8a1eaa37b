using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using Tessera.Core.Audit;
using Tessera.Core.Storage;

namespace Tessera.Storage.Sqlite;

/// <summary>
/// The audit chain's table: appends events (with the state changes they record, written by
/// <see cref="SqliteStateChanges"/> in the same transaction, so one group commit is one transaction
/// and one fsync), and reads rows back for queries and verification.
/// </summary>
internal sealed class SqliteAuditStore(SqliteTesseraStore store, IStateChangeApplier<SqliteTransaction> stateChanges) : IAuditStore
{
    private const string InsertEvent = """
        INSERT INTO audit_events (seq, time_ms, type, agent, principal, mission, tool, json, hash)
        VALUES ($seq, $time, $type, $agent, $principal, $mission, $tool, $json, $hash)
        """;

    public async Task<AuditHead> GetHeadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new AuditHead(reader.GetInt64(0), reader.GetString(1))
            : new AuditHead(0, AuditEvent.GenesisHash);
    }

    public Task AppendAsync(IReadOnlyList<AuditEvent> events, IReadOnlyList<StateChange> changes, CancellationToken cancellationToken) =>
        store.WithWriterAsync(async connection =>
        {
            await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            var insert = store.WriterCommand(connection, tx, InsertEvent, static command =>
            {
                command.Parameters.Add("$seq", SqliteType.Integer);
                command.Parameters.Add("$time", SqliteType.Integer);
                command.Parameters.Add("$type", SqliteType.Text);
                command.Parameters.Add("$agent", SqliteType.Text);
                command.Parameters.Add("$principal", SqliteType.Text);
                command.Parameters.Add("$mission", SqliteType.Text);
                command.Parameters.Add("$tool", SqliteType.Text);
                command.Parameters.Add("$json", SqliteType.Blob);
                command.Parameters.Add("$hash", SqliteType.Text);
            });
            var p = insert.Parameters;
            foreach (var e in events)
            {
                // Parameters by position, in the order they were added above.
                p[0].Value = e.Seq;
                p[1].Value = e.Time.ToUnixTimeMilliseconds();
                p[2].Value = e.Record.Type;
                p[3].Value = (object?)e.Record.Agent ?? DBNull.Value;
                p[4].Value = (object?)e.Record.Principal ?? DBNull.Value;
                p[5].Value = (object?)e.Record.Mission ?? DBNull.Value;
                p[6].Value = (object?)e.Record.Tool ?? DBNull.Value;
                p[7].Value = e.Json;
                p[8].Value = e.Hash;
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            foreach (var change in changes)
            {
                await change.ApplyAsync(stateChanges, tx, cancellationToken);
            }

            await tx.CommitAsync(cancellationToken);
            return 0;
        }, cancellationToken);

    /// <summary>
    /// Reads through the SQLite API underneath Microsoft.Data.Sqlite (SQLitePCLRaw, which it is built
    /// on): verification reads nine columns of every row on one thread, and the data reader's cost per
    /// column access was most of the time verification took. The values are read exactly as stored:
    /// a value tampered into another SQLite type is still handed over, and then fails verification.
    /// </summary>
    public async IAsyncEnumerable<AuditRow> ReadRowsAsync(long fromSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenReaderAsync(cancellationToken);
        var db = connection.Handle!;
        SqliteException.ThrowExceptionForRC(
            raw.sqlite3_prepare_v2(db, "SELECT seq, json, hash, time_ms, type, agent, principal, mission, tool FROM audit_events WHERE seq >= ?1 ORDER BY seq", out var statement), db);
        using (statement)
        {
            SqliteException.ThrowExceptionForRC(raw.sqlite3_bind_int64(statement, 1, fromSeq), db);

            // Synchronous steps: SQLite answers from the page cache, and an await per row would cost more than the row.
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var rc = raw.sqlite3_step(statement);
                if (rc == raw.SQLITE_DONE)
                {
                    yield break;
                }

                if (rc != raw.SQLITE_ROW)
                {
                    SqliteException.ThrowExceptionForRC(rc, db);
                }

                var columns = new AuditColumns(raw.sqlite3_column_type(statement, 3) == raw.SQLITE_INTEGER ? raw.sqlite3_column_int64(statement, 3) : null,
                    TextOrNull(statement, 4), TextOrNull(statement, 5), TextOrNull(statement, 6), TextOrNull(statement, 7), TextOrNull(statement, 8));

                // sqlite3_column_blob hands over any stored value as bytes (text as its UTF-8, numbers as their text).
                yield return new AuditRow(raw.sqlite3_column_int64(statement, 0), raw.sqlite3_column_blob(statement, 1).ToArray(),
                    Encoding.UTF8.GetString(raw.sqlite3_column_blob(statement, 2)), columns);
            }
        }
    }

    /// <summary>
    /// A text column as stored, or null. A value no query for the event's text would find — a BLOB
    /// (text affinity turns numbers into text, not BLOBs), or TEXT that is not UTF-8 — is handed over
    /// as <see cref="NotText"/>, which no event's text equals.
    /// </summary>
    private static string? TextOrNull(sqlite3_stmt statement, int column)
    {
        var type = raw.sqlite3_column_type(statement, column);
        if (type == raw.SQLITE_NULL)
        {
            return null;
        }

        var bytes = raw.sqlite3_column_blob(statement, column);
        return type == raw.SQLITE_TEXT && Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : NotText;
    }

    /// <summary>A lone surrogate: not text, so it equals nothing an event holds.</summary>
    private const string NotText = "\uD800";

    /// <summary>A value tampered into the wrong SQLite type is still handed over, and then fails verification.</summary>
    private static byte[] Bytes(SqliteDataReader reader, int ordinal) => reader.GetValue(ordinal) switch
    {
        byte[] bytes => bytes,
        string text => Encoding.UTF8.GetBytes(text),
        var other => Encoding.UTF8.GetBytes(Text(other)),
    };

    private static string Text(object value) => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";

    public async Task<long> CountAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM audit_events WHERE {Filter(command, query)}";
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT json, hash FROM audit_events WHERE {Filter(command, query)} ORDER BY seq LIMIT $limit";
        command.Parameters.AddWithValue("$limit", Math.Clamp(query.Limit, 1, 10_000));
        var events = new List<AuditEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(AuditEvent.Parse(Bytes(reader, 0), Text(reader.GetValue(1))));
        }

        return events;
    }

    /// <summary>The WHERE clause of a query, with its parameters added to <paramref name="command"/>.</summary>
    private static string Filter(SqliteCommand command, AuditQuery query)
    {
        var where = new List<string> { "seq > $after" };
        command.Parameters.AddWithValue("$after", query.AfterSeq);
        Add("agent", query.Agent);
        Add("principal", query.Principal);
        Add("mission", query.Mission);
        Add("tool", query.Tool);
        Add("type", query.Type);
        if (query.Since is { } since)
        {
            where.Add("time_ms >= $since");
            command.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        }

        return string.Join(" AND ", where);

        void Add(string column, string? value)
        {
            if (value is not null)
            {
                where.Add($"{column} = ${column}");
                command.Parameters.AddWithValue("$" + column, value);
            }
        }
    }
}
