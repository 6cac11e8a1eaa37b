using Microsoft.Data.Sqlite;
using Tessera.Core.Storage;
using Tessera.Core.Vault;

namespace Tessera.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode with <c>synchronous=FULL</c>, so a commit that
/// returned survives a power cut. Writes go through one connection; reads use pooled ones.
/// </summary>
public sealed class SqliteTesseraStore : ITesseraStore
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly bool _readOnly;
    private readonly Dictionary<string, SqliteCommand> _writerCommands = new(StringComparer.Ordinal);
    private SqliteConnection? _writer;
    private Task? _checkpointer;

    public SqliteTesseraStore(string path, bool readOnly = false)
    {
        Path = System.IO.Path.GetFullPath(path);
        _readOnly = readOnly;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        Audit = new SqliteAuditStore(this, new SqliteStateChanges(this));
        Revocations = new SqliteRevocationStore(this);
        SigningKeys = new SqliteSigningKeyStore(this);
        Missions = new SqliteMissionStore(this);
        AgentStates = new SqliteAgentStateStore(this);
        Replays = new SqliteReplayStore(this);
        Secrets = new SqliteSecretStore(this);
        TokenUses = new SqliteTokenUseStore(this);
        Approvals = new SqliteApprovalStore(this);
        Usage = new SqliteUsageStore(this);
        Leases = new SqliteLeaseStore(this);
    }

    /// <summary>Creates the store for a configuration value <c>sqlite:/path/file.db</c>.</summary>
    public static SqliteTesseraStore FromLocation(string location, bool readOnly = false) =>
        location.StartsWith("sqlite:", StringComparison.Ordinal)
            ? new SqliteTesseraStore(location["sqlite:".Length..], readOnly)
            : throw new ArgumentException("not a sqlite: location", nameof(location));

    public string Path { get; }

    public IAuditStore Audit { get; }

    public IRevocationStore Revocations { get; }

    public ISigningKeyStore SigningKeys { get; }

    public IMissionStore Missions { get; }

    public IAgentStateStore AgentStates { get; }

    public IReplayStore Replays { get; }

    public ISecretStore Secrets { get; }

    public ITokenUseStore TokenUses { get; }

    public IApprovalStore Approvals { get; }

    public IUsageStore Usage { get; }

    public Core.Leases.ILeaseStore Leases { get; }

    /// <summary>The schema version this build writes.</summary>
    public static int SchemaVersion => SqliteMigrations.Steps.Length;

    public async Task<SchemaMigration> MigrateAsync(CancellationToken cancellationToken)
    {
        if (!_readOnly)
        {
            MakePrivate();
        }

        var found = await WithWriterAsync(async connection =>
        {
            await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", cancellationToken);
            await using var read = connection.CreateCommand();
            read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
            var current = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            if (current > SqliteMigrations.Steps.Length)
            {
                throw new InvalidOperationException($"{Path} has schema version {current}, newer than this build understands ({SqliteMigrations.Steps.Length}); upgrade Tessera");
            }

            for (var version = current + 1; version <= SqliteMigrations.Steps.Length; version++)
            {
                await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
                await using var step = connection.CreateCommand();
                step.Transaction = tx;
                step.CommandText = SqliteMigrations.Steps[version - 1] + $";\nINSERT INTO schema_version(version) VALUES ({version});";
                await step.ExecuteNonQueryAsync(cancellationToken);
                await tx.CommitAsync(cancellationToken);
            }

            return current;
        }, cancellationToken);

        if (!_readOnly)
        {
            _checkpointer ??= Task.Run(() => CheckpointLoopAsync(_stopping.Token), CancellationToken.None);
        }

        return new SchemaMigration(found, SqliteMigrations.Steps.Length);
    }

    /// <summary>
    /// A consistent read of every table, for <c>tessera storage copy</c>: one read transaction on its
    /// own connection, so a writer committing meanwhile is not seen. Refuses a schema other than this
    /// build's (an older one is migrated by starting Tessera on it, or <c>tessera storage migrate</c>).
    /// </summary>
    public async Task<ITableSnapshot> OpenSnapshotAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenReaderAsync(cancellationToken);
        try
        {
            return await SqliteSnapshot.OpenAsync(connection, Path, cancellationToken);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The database holds the audit log, sealed keys and secrets: its directory is created 0700 and
    /// the file 0600 before SQLite opens it. SQLite gives the -wal and -shm files the database
    /// file's permissions, and an existing database (and journal) readable by others is tightened.
    /// </summary>
    private void MakePrivate()
    {
        var directory = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(directory))
        {
            PrivateFile.CreateDirectory(directory);
        }

        if (!File.Exists(Path))
        {
            try
            {
                using (PrivateFile.OpenExclusive(Path))
                {
                    // An empty file is a valid new database; SQLite writes its header on first use.
                }
            }
            catch (IOException) when (File.Exists(Path))
            {
                // Created meanwhile by someone else; tightened below like any existing file.
            }
        }

        PrivateFile.Restrict(Path);
        PrivateFile.Restrict(Path + "-wal");
        PrivateFile.Restrict(Path + "-shm");
        PrivateFile.Restrict(Path + "-journal");
    }

    /// <summary>
    /// Moves WAL pages into the database once a second on its own connection, so the fsyncs of a
    /// checkpoint stay off the commit path the callers wait on. The writer's auto-checkpoint remains
    /// as a backstop (at 10,000 pages) should this loop fail.
    /// </summary>
    private async Task CheckpointLoopAsync(CancellationToken stopping)
    {
        try
        {
            await using var connection = await OpenReaderAsync(stopping);
            while (!stopping.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stopping);
                await ExecuteAsync(connection, "PRAGMA wal_checkpoint(PASSIVE);", stopping);
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
        catch (SqliteException)
        {
            // The backstop auto-checkpoint keeps the WAL bounded.
        }
    }

    /// <summary>Runs <paramref name="work"/> on the single writer connection, one caller at a time.</summary>
    internal async Task<T> WithWriterAsync<T>(Func<SqliteConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            if (_writer is null)
            {
                var connection = new SqliteConnection(_connectionString);
                await connection.OpenAsync(cancellationToken);
                await ExecuteAsync(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA wal_autocheckpoint=10000;", cancellationToken);
                _writer = connection;
            }

            return await work(_writer);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// A command on the writer connection that stays prepared across calls, so SQLite parses and
    /// plans its SQL once instead of in every commit (re-preparing the audit insert per batch showed
    /// in profiles). Only valid inside <see cref="WithWriterAsync"/>; <paramref name="create"/> adds
    /// the parameters when the command is first made.
    /// </summary>
    internal SqliteCommand WriterCommand(SqliteConnection writer, SqliteTransaction transaction, string sql, Action<SqliteCommand>? create = null)
    {
        if (!_writerCommands.TryGetValue(sql, out var command))
        {
            command = writer.CreateCommand();
            command.CommandText = sql;
            create?.Invoke(command);
            _writerCommands.Add(sql, command);
        }

        command.Transaction = transaction;
        return command;
    }

    /// <summary>Deletes the rows of <paramref name="table"/> whose <c>expires_at</c> has passed; returns how many.</summary>
    internal Task<int> DeleteExpiredAsync(string table, DateTimeOffset now, CancellationToken cancellationToken) =>
        WithWriterAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            // The table name is one of ours, never caller input.
            command.CommandText = $"DELETE FROM {table} WHERE expires_at < $now";
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    /// <summary>Opens a read connection; WAL lets it read while the writer commits.</summary>
    internal async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await ExecuteAsync(connection, "PRAGMA busy_timeout=10000;", cancellationToken);
        return connection;
    }

    internal static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_checkpointer is not null)
        {
            await _checkpointer;
        }

        _stopping.Dispose();
        await _writeLock.WaitAsync();
        try
        {
            foreach (var command in _writerCommands.Values)
            {
                await command.DisposeAsync();
            }

            _writerCommands.Clear();
            if (_writer is not null)
            {
                await _writer.DisposeAsync();
                _writer = null;
            }
        }
        finally
        {
            _writeLock.Release();
        }

        SqliteConnection.ClearAllPools();
        _writeLock.Dispose();
    }
}
