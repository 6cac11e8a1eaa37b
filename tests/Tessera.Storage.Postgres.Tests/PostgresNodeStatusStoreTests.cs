using Tessera.Core.Cluster;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>The nodes' status rows: one per node, replaced at each report, listed by when they were last seen.</summary>
public sealed class PostgresNodeStatusStoreTests(PostgresCluster cluster) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly PostgresStoreDatabase _db = new(cluster);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await _db.CreateAsync(Ct);

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    [Fact]
    public async Task Every_node_on_the_database_lists_every_nodes_latest_report()
    {
        await using var a = new PostgresTesseraStore(_db.ConnectionString, "node-a");
        await using var b = new PostgresTesseraStore(_db.ConnectionString, "node-b");
        await a.MigrateAsync(Ct);

        await b.Nodes.ReportAsync(new NodeConfig("node-b", "sha256:bbbb", T0, T0), Ct);
        await a.Nodes.ReportAsync(new NodeConfig("node-a", "sha256:aaaa", T0, T0), Ct);
        await b.Nodes.ReportAsync(new NodeConfig("node-b", "sha256:cccc", T0.AddSeconds(20), T0.AddSeconds(30)), Ct);

        Assert.Equal(
            [new NodeConfig("node-a", "sha256:aaaa", T0, T0), new NodeConfig("node-b", "sha256:cccc", T0.AddSeconds(20), T0.AddSeconds(30))],
            await a.Nodes.ListAsync(T0, Ct));
        Assert.Equal(1L, await _db.ScalarAsync("SELECT COUNT(*) FROM node_status WHERE node = 'node-b'", Ct));
    }

    [Fact]
    public async Task A_node_last_seen_before_the_given_time_is_left_out()
    {
        await using var store = new PostgresTesseraStore(_db.ConnectionString, "node-a");
        await store.MigrateAsync(Ct);
        await store.Nodes.ReportAsync(new NodeConfig("node-a", "sha256:aaaa", T0, T0.AddMinutes(2)), Ct);
        await store.Nodes.ReportAsync(new NodeConfig("node-gone", "sha256:aaaa", T0, T0), Ct);

        Assert.Equal(["node-a", "node-gone"], (await store.Nodes.ListAsync(T0, Ct)).Select(n => n.Node));
        Assert.Equal(["node-a"], (await store.Nodes.ListAsync(T0.AddMilliseconds(1), Ct)).Select(n => n.Node));
    }
}
