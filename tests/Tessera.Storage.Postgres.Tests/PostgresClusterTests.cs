using Npgsql;

[assembly: AssemblyFixture(typeof(Tessera.Storage.Postgres.Tests.PostgresCluster))]

namespace Tessera.Storage.Postgres.Tests;

public sealed class PostgresClusterTests(PostgresCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Each_database_starts_empty_and_is_apart_from_the_others()
    {
        var first = await cluster.CreateDatabaseAsync(Ct);
        var second = await cluster.CreateDatabaseAsync(Ct);
        await ExecuteAsync(first, "CREATE TABLE marker (id int)");

        Assert.NotEqual(first, second);
        Assert.Equal(1L, await ScalarAsync(first, "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'marker'"));
        Assert.Equal(0L, await ScalarAsync(second, "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'marker'"));
    }

    [Fact]
    public async Task Each_schema_of_a_test_class_is_apart_from_the_others()
    {
        var first = await cluster.CreateSchemaAsync(Ct);
        var second = await cluster.CreateSchemaAsync(Ct);
        await ExecuteAsync(first, "CREATE TABLE marker (id int)");

        Assert.Equal(0L, await ScalarAsync(first, "SELECT COUNT(*) FROM marker"));
        await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(second, "SELECT COUNT(*) FROM marker"));
    }

    [Fact]
    public async Task The_cluster_runs_with_fsync_on_and_listens_on_loopback_only()
    {
        var db = await cluster.CreateDatabaseAsync(Ct);

        Assert.Equal("on", await ScalarAsync(db, "SHOW fsync"));
        Assert.Equal("127.0.0.1", await ScalarAsync(db, "SHOW listen_addresses"));
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(Ct);
    }
}
