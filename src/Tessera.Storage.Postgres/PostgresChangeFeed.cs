using Npgsql;
using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres;

/// <summary>
/// The change log of a PostgreSQL installation: the <c>changes</c> table (written by
/// <see cref="PostgresAuditStore"/> in the transaction of each state change) and a listener on the
/// <see cref="Channel"/> notification channel. The listener has its own unpooled connection, named
/// <c>tessera NODE listener</c> in <c>pg_stat_activity</c>, so it is never handed to a query and a
/// broken one is simply dropped and opened again.
/// </summary>
internal sealed class PostgresChangeFeed(PostgresTesseraStore store, NpgsqlDataSource listenerSource) : IChangeFeed
{
    /// <summary>The notification channel; the payload is the newest id committed (only a hint: readers read the log).</summary>
    public const string Channel = "tessera_changes";

    /// <summary>The advisory lock that orders log ids by commit (any constant; "changes" in ASCII).</summary>
    public const long LogLock = 0x6368616e676573;

    private NpgsqlConnection? _listener;
    private TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once a listener connection is open and listening (a new task after it was dropped), for tests that cut it.</summary>
    internal Task Listening => Volatile.Read(ref _listening).Task;

    /// <summary>The server process of the listener's connection, 0 when none is open.</summary>
    internal int ListenerProcessId => _listener?.ProcessID ?? 0;

    public async Task<long> GetHeadAsync(CancellationToken cancellationToken)
    {
        // After a prune that emptied the log, the head is the last id pruned.
        await using var command = store.Command("SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM changes), (SELECT through FROM changes_pruned))");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyList<ClusterChange>> ReadAfterAsync(long afterId, CancellationToken cancellationToken)
    {
        // One round trip. The watermark is read by the second statement, after the entries: a prune
        // before the read shows there; one after it removed nothing the read missed.
        await using var command = store.Command("SELECT id, kind, key FROM changes WHERE id > @after ORDER BY id; SELECT through FROM changes_pruned");
        command.Parameters.Add(Sql.Long("after", afterId));
        var changes = new List<ClusterChange>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            changes.Add(new ClusterChange(reader.GetInt64(0), (ClusterChangeKind)reader.GetInt32(1), reader.GetString(2)));
        }

        if (!await reader.NextResultAsync(cancellationToken) || !await reader.ReadAsync(cancellationToken))
        {
            throw new InvalidOperationException("the change log's watermark (changes_pruned) is missing");
        }

        var through = reader.GetInt64(0);
        if (through > afterId)
        {
            throw new InvalidOperationException(
                $"change log entries after {afterId} up to {through} were pruned before this node applied them; restart this node to load its state again");
        }

        return changes;
    }

    public async Task<int> PruneAsync(TimeSpan age, CancellationToken cancellationToken)
    {
        // One statement: the entries go and the watermark moves together.
        await using var command = store.Command("""
            WITH gone AS (DELETE FROM changes WHERE created_at < now() - make_interval(secs => @age) RETURNING id),
                 moved AS (UPDATE changes_pruned SET through = GREATEST(through, (SELECT MAX(id) FROM gone)) WHERE EXISTS (SELECT 1 FROM gone))
            SELECT COUNT(*) FROM gone
            """);
        command.Parameters.Add(new NpgsqlParameter<double>("age", NpgsqlTypes.NpgsqlDbType.Double) { TypedValue = age.TotalSeconds });
        return (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_listener is null)
        {
            var connection = await listenerSource.OpenConnectionAsync(cancellationToken);
            try
            {
                await using var listen = new NpgsqlCommand($"LISTEN {Channel}", connection);
                await listen.ExecuteNonQueryAsync(cancellationToken);
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }

            _listener = connection;
            Volatile.Read(ref _listening).TrySetResult();

            // A change committed before LISTEN took effect was not notified: return so the caller reads the log now.
            return;
        }

        try
        {
            await _listener.WaitAsync(timeout, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch
        {
            // A broken connection is not reused: the next call opens a new one and the caller reads the log.
            await DropListenerAsync();
            throw;
        }
    }

    private async ValueTask DropListenerAsync()
    {
        var listener = _listener;
        _listener = null;
        if (Volatile.Read(ref _listening).Task.IsCompleted)
        {
            Volatile.Write(ref _listening, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
        if (listener is not null)
        {
            await listener.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DropListenerAsync();
        await listenerSource.DisposeAsync();
    }
}
