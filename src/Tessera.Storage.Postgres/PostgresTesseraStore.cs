using Npgsql;
using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres;

/// <summary>
/// The store for several nodes: one PostgreSQL database that any number of <c>tessera serve</c>
/// processes share. Connections come from one pooled <see cref="NpgsqlDataSource"/>; statements run
/// often (the audit insert, the state changes, the use counter) are prepared automatically by Npgsql
/// after their second use. Every commit is durable when it returns (the server's
/// <c>synchronous_commit</c>, on by default). This node's audit events go into its own hash chain,
/// keyed by <see cref="NodeId"/>.
/// </summary>
public sealed class PostgresTesseraStore : ITesseraStore
{
    /// <summary>Where a password missing from the connection string is taken from, so it need not be in the configuration file.</summary>
    public const string PasswordVariable = "TESSERA_DB_PASSWORD";

    /// <summary>Serializes migrations of several nodes starting at once (any constant; "tessera" in ASCII).</summary>
    private const long MigrationLock = 0x74657373657261;

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresChangeFeed _changes;

    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="nodeId">This node's name: the key of its audit chain.</param>
    /// <param name="readOnly">Every transaction read-only (the server refuses any write), for offline verification.</param>
    public PostgresTesseraStore(string connectionString, string nodeId, bool readOnly = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        NodeId = nodeId;
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.MaxAutoPrepare = Math.Max(builder.ConnectionStringBuilder.MaxAutoPrepare, 64);
        builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;

        // No session state to reset when a connection goes back to the pool: the pooled connections
        // never SET, LISTEN (the listener has its own connection, below) or take a session-level lock
        // (every advisory lock here is transaction-scoped). With statements prepared, Npgsql's reset
        // is seven statements (CLOSE ALL, UNLISTEN *, RESET ALL, ...) ahead of the next use: for the
        // audit writer, which takes a connection per group commit, more statements than the group's.
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        if (string.IsNullOrEmpty(builder.ConnectionStringBuilder.ApplicationName))
        {
            builder.ConnectionStringBuilder.ApplicationName = "tessera " + nodeId;
        }

        if (readOnly)
        {
            builder.ConnectionStringBuilder.Options = $"{builder.ConnectionStringBuilder.Options} -c default_transaction_read_only=on".Trim();
        }

        _dataSource = builder.Build();

        // The listener: its own connection, never pooled, so a LISTEN is never handed to a query.
        var listener = new NpgsqlConnectionStringBuilder(builder.ConnectionString)
        {
            Pooling = false,
            ApplicationName = "tessera " + nodeId + " listener",
        };
        _changes = new PostgresChangeFeed(this, NpgsqlDataSource.Create(listener));
        Audit = new PostgresAuditStore(this, new PostgresStateChanges(nodeId));
        Revocations = new PostgresRevocationStore(this);
        SigningKeys = new PostgresSigningKeyStore(this);
        Missions = new PostgresMissionStore(this);
        AgentStates = new PostgresAgentStateStore(this);
        Replays = new PostgresReplayStore(this);
        Secrets = new PostgresSecretStore(this);
        TokenUses = new PostgresTokenUseStore(this);
        Approvals = new PostgresApprovalStore(this);
        Usage = new PostgresUsageStore(this);
        Leases = new PostgresLeaseStore(this);
        Nodes = new PostgresNodeStatusStore(this);
    }

    /// <summary>
    /// Creates the store for a configuration value: a <c>postgres://</c> URL or an Npgsql keyword
    /// string. A password missing from it is read from <see cref="PasswordVariable"/>.
    /// </summary>
    public static PostgresTesseraStore FromLocation(string location, string nodeId, bool readOnly = false) =>
        new(PostgresLocation.ToConnectionString(location, Environment.GetEnvironmentVariable(PasswordVariable)), nodeId, readOnly);

    /// <summary>This node's name: the key of its audit chain.</summary>
    public string NodeId { get; }

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

    /// <summary>Which configuration each node on this database runs (<see cref="Core.Cluster.NodeStatus"/>).</summary>
    public INodeStatusStore Nodes { get; }

    /// <summary>The change log the nodes on this database write and read (<see cref="Core.Cluster.ClusterSync"/>).</summary>
    public IChangeFeed Changes => _changes;

    /// <summary>The server process of this store's listener connection (0 when none is open), for tests that cut it.</summary>
    internal int ListenerProcessId => _changes.ListenerProcessId;

    /// <summary>Completes once this store's listener is connected and listening, for tests that cut it.</summary>
    internal Task Listening => _changes.Listening;

    /// <summary>
    /// Applies the missing migrations, each in its own transaction under a transaction-scoped
    /// advisory lock, so nodes starting together apply each step exactly once (the others wait,
    /// then find it applied).
    /// </summary>
    public async Task<SchemaMigration> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        int? found = null;
        for (var applied = false; !applied;)
        {
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            await ExecuteAsync(connection, tx, $"SELECT pg_advisory_xact_lock({MigrationLock})", cancellationToken);
            await ExecuteAsync(connection, tx,
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", cancellationToken);
            await using var read = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", connection, tx);
            var current = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            found ??= current;
            if (current > PostgresMigrations.Steps.Length)
            {
                throw new InvalidOperationException($"the database has schema version {current}, newer than this build understands ({PostgresMigrations.Steps.Length}); upgrade Tessera");
            }

            if (current == PostgresMigrations.Steps.Length)
            {
                await tx.CommitAsync(cancellationToken);
                applied = true;
                continue;
            }

            var version = current + 1;
            await ExecuteAsync(connection, tx, PostgresMigrations.Steps[version - 1], cancellationToken);
            await ExecuteAsync(connection, tx, $"INSERT INTO schema_migrations (version) VALUES ({version})", cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }

        // Another node may have applied some of the steps meanwhile: from is the version first found.
        return new SchemaMigration(found!.Value, PostgresMigrations.Steps.Length);
    }

    /// <summary>
    /// Copies <paramref name="source"/> (an embedded installation) into this database, which must be
    /// migrated and empty, in one transaction; its audit chain becomes this node's chain and must end
    /// at <paramref name="expectedHead"/> (the head the source verified to). See <see cref="PostgresImport"/>.
    /// </summary>
    public Task<StoreCopyResult> ImportAsync(ITableSnapshot source, AuditHead expectedHead, DateTimeOffset now, CancellationToken cancellationToken) =>
        new PostgresImport(this).RunAsync(source, expectedHead, now, cancellationToken);

    /// <summary>A pooled connection, open.</summary>
    internal ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken) => _dataSource.OpenConnectionAsync(cancellationToken);

    /// <summary>A command on a pooled connection that runs once, outside any transaction.</summary>
    internal NpgsqlCommand Command(string sql) => _dataSource.CreateCommand(sql);

    /// <summary>Deletes the rows of <paramref name="table"/> whose <c>expires_at</c> has passed; returns how many.</summary>
    internal async Task<int> DeleteExpiredAsync(string table, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // The table name is one of ours, never caller input.
        await using var command = Command($"DELETE FROM {table} WHERE expires_at < @now");
        command.Parameters.Add(Sql.Long("now", now.ToUnixTimeMilliseconds()));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _changes.DisposeAsync();
        await _dataSource.DisposeAsync();
    }
}
