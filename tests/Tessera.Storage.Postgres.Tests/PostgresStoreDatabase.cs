using Npgsql;
using Tessera.Core.Storage;
using Tessera.Storage.Contract;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>The storage contract's database for the PostgreSQL store: a fresh schema in its test class's database of the shared test cluster.</summary>
public sealed class PostgresStoreDatabase(PostgresCluster cluster, string nodeId = "node-a") : IStoreDatabase
{
    public string ConnectionString { get; private set; } = "";

    public Type WriteFailure => typeof(PostgresException);

    public async ValueTask CreateAsync(CancellationToken cancellationToken) =>
        ConnectionString = await cluster.CreateSchemaAsync(cancellationToken);

    public ITesseraStore OpenStore() => new PostgresTesseraStore(ConnectionString, nodeId);

    public async Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    /// <summary>The schema stays until the cluster is deleted at the end of the run.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
