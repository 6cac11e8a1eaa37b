using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using Tessera.Core.Approvals;
using Tessera.Core.Audit;
using Tessera.Core.Identity;
using Tessera.Core.Missions;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;
using Tessera.Core.Vault;
using Tessera.Core.Tokens;

namespace Tessera.Storage.Sqlite;

internal sealed class SqliteAuditStore(SqliteTesseraStore store) : IAuditStore
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
                await ApplyAsync(connection, tx, change, cancellationToken);
            }

            await tx.CommitAsync(cancellationToken);
            return 0;
        }, cancellationToken);

    private async Task ApplyAsync(SqliteConnection connection, SqliteTransaction tx, StateChange change, CancellationToken cancellationToken)
    {
        SqliteCommand command;
        switch (change)
        {
            case RevocationEntry r:
                command = Command("""
                    INSERT INTO revocations (kind, id, revoked_at, expires_at) VALUES ($kind, $id, $at, $exp)
                    ON CONFLICT (kind, id) DO UPDATE SET revoked_at = MAX(revoked_at, excluded.revoked_at), expires_at = MAX(expires_at, excluded.expires_at)
                    """);
                command.Parameters.AddWithValue("$kind", (int)r.Kind);
                command.Parameters.AddWithValue("$id", r.Id);
                command.Parameters.AddWithValue("$at", r.RevokedAt.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$exp", r.ExpiresAt.ToUnixTimeMilliseconds());
                break;
            case SigningKeyAdded k:
                command = Command("INSERT INTO signing_keys (kid, alg, sealed, created_at, activates_at) VALUES ($kid, $alg, $sealed, $created, $activates)");
                command.Parameters.AddWithValue("$kid", k.Key.Kid);
                command.Parameters.AddWithValue("$alg", k.Key.Algorithm);
                command.Parameters.AddWithValue("$sealed", k.Key.SealedPrivateKey);
                command.Parameters.AddWithValue("$created", k.Key.CreatedAt.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$activates", k.Key.ActivatesAt.ToUnixTimeMilliseconds());
                break;
            case SigningKeyRetired keyRetired:
                command = Command("DELETE FROM signing_keys WHERE kid = $kid");
                command.Parameters.AddWithValue("$kid", keyRetired.Kid);
                break;
            case MissionStarted m:
                command = Command("""
                    INSERT INTO missions (id, principal, idp, actor_chain, purpose, started_at, expires_at)
                    VALUES ($id, $principal, $idp, $chain, $purpose, $started, $expires)
                    """);
                command.Parameters.AddWithValue("$id", m.Mission.Id);
                command.Parameters.AddWithValue("$principal", m.Mission.Principal);
                command.Parameters.AddWithValue("$idp", m.Mission.Idp);
                command.Parameters.AddWithValue("$chain", System.Text.Json.JsonSerializer.Serialize(m.Mission.ActorChain));
                command.Parameters.AddWithValue("$purpose", (object?)m.Mission.Purpose ?? DBNull.Value);
                command.Parameters.AddWithValue("$started", m.Mission.StartedAt.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$expires", m.Mission.ExpiresAt.ToUnixTimeMilliseconds());
                break;
            case AssertionUsed u:
                command = Command("INSERT INTO used_assertions (key, expires_at) VALUES ($key, $exp) ON CONFLICT (key) DO NOTHING");
                command.Parameters.AddWithValue("$key", u.Key);
                command.Parameters.AddWithValue("$exp", u.ExpiresAt.ToUnixTimeMilliseconds());
                break;
            case AgentSuspension a when a.Suspended:
                command = Command("INSERT INTO agent_suspensions (agent_id, suspended_at) VALUES ($id, $at) ON CONFLICT (agent_id) DO NOTHING");
                command.Parameters.AddWithValue("$id", a.AgentId);
                command.Parameters.AddWithValue("$at", a.At.ToUnixTimeMilliseconds());
                break;
            case AgentSuspension a:
                command = Command("DELETE FROM agent_suspensions WHERE agent_id = $id");
                command.Parameters.AddWithValue("$id", a.AgentId);
                break;
            case SecretVersionAdded added:
                if (added.Retires is { } retired)
                {
                    command = Command("UPDATE secret_versions SET retired_at = $at, destroy_after = $destroy WHERE name = $name AND version = $version");
                    command.Parameters.AddWithValue("$at", added.Version.CreatedAt.ToUnixTimeMilliseconds());
                    command.Parameters.AddWithValue("$destroy", added.DestroyAfter!.Value.ToUnixTimeMilliseconds());
                    command.Parameters.AddWithValue("$name", added.Version.Name);
                    command.Parameters.AddWithValue("$version", retired);
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }

                command = Command("""
                    INSERT INTO secret_versions (name, version, created_at, key_id, wrapped_key, ciphertext)
                    VALUES ($name, $version, $created, $key, $wrapped, $ciphertext)
                    """);
                command.Parameters.AddWithValue("$name", added.Version.Name);
                command.Parameters.AddWithValue("$version", added.Version.Version);
                command.Parameters.AddWithValue("$created", added.Version.CreatedAt.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$key", added.Version.KeyId);
                command.Parameters.AddWithValue("$wrapped", added.Version.WrappedKey);
                command.Parameters.AddWithValue("$ciphertext", added.Version.Ciphertext);
                break;
            case VaultKeyChanged changed:
                command = Command("INSERT INTO vault_keys (id, salt, created_at) VALUES ($id, $salt, $created)");
                command.Parameters.AddWithValue("$id", changed.Key.Id);
                command.Parameters.AddWithValue("$salt", changed.Key.Salt);
                command.Parameters.AddWithValue("$created", changed.Key.CreatedAt.ToUnixTimeMilliseconds());
                await command.ExecuteNonQueryAsync(cancellationToken);
                foreach (var r in changed.Rewrapped)
                {
                    command = Command("UPDATE secret_versions SET key_id = $key, wrapped_key = $wrapped WHERE name = $name AND version = $version AND destroyed_at IS NULL");
                    command.Parameters.AddWithValue("$key", changed.Key.Id);
                    command.Parameters.AddWithValue("$wrapped", r.WrappedKey);
                    command.Parameters.AddWithValue("$name", r.Version.Name);
                    command.Parameters.AddWithValue("$version", r.Version.Version);
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }

                foreach (var id in changed.RemovedKeyIds)
                {
                    command = Command("DELETE FROM vault_keys WHERE id = $id");
                    command.Parameters.AddWithValue("$id", id);
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }

                // Fail closed: a rekey that left a data key under a deleted key must not commit.
                command = Command("SELECT COUNT(*) FROM secret_versions WHERE destroyed_at IS NULL AND key_id NOT IN (SELECT id FROM vault_keys)");
                if (Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) != 0)
                {
                    throw new InvalidOperationException("the rekey would leave data keys wrapped by a removed key");
                }

                return;
            case SecretVersionsDestroyed destroyed:
                foreach (var v in destroyed.Versions)
                {
                    command = Command("""
                        UPDATE secret_versions SET ciphertext = NULL, wrapped_key = NULL, key_id = NULL, destroyed_at = $at
                        WHERE name = $name AND version = $version
                        """);
                    command.Parameters.AddWithValue("$at", destroyed.At.ToUnixTimeMilliseconds());
                    command.Parameters.AddWithValue("$name", v.Name);
                    command.Parameters.AddWithValue("$version", v.Version);
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }

                return;
            case ApprovalRequested requested:
                command = Command("""
                    INSERT INTO approvals (id, status, client_id, created_at, expires_at, json)
                    VALUES ($id, $status, $client, $created, $expires, $json)
                    """);
                command.Parameters.AddWithValue("$id", requested.Approval.Id);
                command.Parameters.AddWithValue("$status", requested.Approval.Status);
                command.Parameters.AddWithValue("$client", requested.Approval.ClientId);
                command.Parameters.AddWithValue("$created", requested.Approval.CreatedAt.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$expires", requested.Approval.ExpiresAt.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$json", SqliteApprovalStore.Serialize(requested.Approval));
                break;
            case ApprovalChange step:
                command = Command("UPDATE approvals SET status = $status, expires_at = $expires, json = $json WHERE id = $id AND status = $previous");
                command.Parameters.AddWithValue("$id", step.Approval.Id);
                command.Parameters.AddWithValue("$status", step.Approval.Status);
                command.Parameters.AddWithValue("$expires", step.Approval.ExpiresAt.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$json", SqliteApprovalStore.Serialize(step.Approval));
                command.Parameters.AddWithValue("$previous", (object?)step.PreviousStatus ?? DBNull.Value);

                // Fail closed: a step from a state the approval is no longer in must not commit (a second decision, a second token).
                if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
                {
                    throw new InvalidOperationException($"approval step to '{step.Approval.Status}' from '{step.PreviousStatus}' does not match the stored state");
                }

                return;
            default:
                // Fail closed: a change this store cannot persist must not be reported as durable.
                throw new NotSupportedException($"the SQLite store cannot persist {change.GetType().Name}");
        }

        await command.ExecuteNonQueryAsync(cancellationToken);

        SqliteCommand Command(string sql)
        {
            var cached = store.WriterCommand(connection, tx, sql);
            cached.Parameters.Clear();
            return cached;
        }
    }

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
