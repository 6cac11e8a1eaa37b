using Microsoft.Extensions.DependencyInjection;
using Tessera.Core.Cluster;
using Tessera.Core.Configuration;
using Tessera.Core.Posture;
using Tessera.Core.Storage;
using Tessera.Server.Hosting;
using Tessera.Storage.Postgres;
using Tessera.Storage.Postgres.Tests;

namespace Tessera.Server.Tests.Hosting;

/// <summary>
/// Two nodes on one real throwaway PostgreSQL, each loaded from its own file: each reports which
/// configuration it runs, <c>GET /admin/v1/status</c> on either lists both, and the posture report
/// flags them while their files differ.
/// </summary>
[Trait("Speed", "Slow")] // a real PostgreSQL cluster
public sealed class NodeStatusReporterTests(PostgresCluster cluster) : IClassFixture<PostgresCluster>
{
    private static readonly byte[] SharedMasterKey = SHA256.HashData("node-status-tests"u8);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Nodes_loaded_from_different_files_are_listed_with_their_hashes_and_flagged_until_one_is_reloaded_with_the_others_file()
    {
        var time = new TestClock(TestBroker.Start);
        var database = await cluster.CreateSchemaAsync(Ct);
        var yamlA = TestBroker.DefaultYaml();
        var yamlB = yamlA.Replace("purpose: Answer customer tickets", "purpose: Answer customer tickets and chats", StringComparison.Ordinal);
        var replaced = new List<ITesseraStore>();
        try
        {
            await using var a = await StartNodeAsync(database, "node-a", yamlA, time, replaced);
            await using var b = await StartNodeAsync(database, "node-b", yamlB, time, replaced);
            var (hashA, hashB) = (a.Config.Hash, b.Config.Hash);
            Assert.NotEqual(hashA, hashB);

            foreach (var node in new[] { a, b })
            {
                using var status = await StatusAsync(node);
                Assert.Equal([("node-a", hashA), ("node-b", hashB)], Nodes(status));
                Assert.False(status.RootElement.GetProperty("nodes_agree").GetBoolean());
                var differ = Assert.Single(await FindingsAsync(node), f => f.GetProperty("type").GetString() == PostureFindingTypes.ConfigNodesDiffer);
                Assert.Equal("medium", differ.GetProperty("severity").GetString());
                Assert.Contains($"node-a {ConfigReloader.Short(hashA)}, node-b {ConfigReloader.Short(hashB)}", differ.GetProperty("evidence").GetString(), StringComparison.Ordinal);
            }

            await File.WriteAllTextAsync(Path.Combine(b.Directory, "tessera.yaml"), yamlA, Ct);
            using (var reload = await b.AdminAsync(HttpMethod.Post, "/admin/v1/config/reload"))
            {
                Assert.Equal(HttpStatusCode.OK, reload.StatusCode);
            }

            // The reload started b's report before it answered.
            await b.Service<NodeStatusReporter>().Latest;
            foreach (var node in new[] { a, b })
            {
                using var status = await StatusAsync(node);
                Assert.Equal([("node-a", hashA), ("node-b", hashA)], Nodes(status));
                Assert.True(status.RootElement.GetProperty("nodes_agree").GetBoolean());
                Assert.DoesNotContain(await FindingsAsync(node), f => f.GetProperty("type").GetString() == PostureFindingTypes.ConfigNodesDiffer);
            }
        }
        finally
        {
            foreach (var store in replaced)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_node_that_keeps_reporting_stays_listed_and_one_that_stops_drops_out_after_Gone()
    {
        var time = new TestClock(TestBroker.Start);
        var database = await cluster.CreateSchemaAsync(Ct);
        var replaced = new List<ITesseraStore>();
        try
        {
            await using var a = await StartNodeAsync(database, "node-a", TestBroker.DefaultYaml(), time, replaced);
            var b = await StartNodeAsync(database, "node-b", TestBroker.DefaultYaml(), time, replaced);
            await using (b)
            {
                // Past Gone since b's first report: its heartbeat (fired by this move) keeps it listed.
                time.Advance(NodeStatus.Gone + TimeSpan.FromMilliseconds(1));
                await b.Service<NodeStatusReporter>().Latest;
                using var status = await StatusAsync(a);
                Assert.Equal(["node-a", "node-b"], Nodes(status).Select(n => n.Node));
                Assert.Equal(AuditEvent.FormatTime(time.GetUtcNow()), status.RootElement.GetProperty("nodes")[1].GetProperty("seen_at").GetString());
            }

            // b stopped: listed until Gone after its last report, then no more.
            time.Advance(NodeStatus.Gone);
            using (var status = await StatusAsync(a))
            {
                Assert.Equal(["node-a", "node-b"], Nodes(status).Select(n => n.Node));
            }

            time.Advance(TimeSpan.FromMilliseconds(1));
            using (var status = await StatusAsync(a))
            {
                Assert.Equal(["node-a"], Nodes(status).Select(n => n.Node));
                Assert.True(status.RootElement.GetProperty("nodes_agree").GetBoolean());
            }
        }
        finally
        {
            foreach (var store in replaced)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_failing_report_never_stops_the_node_and_is_logged_the_1st_and_10th_time_in_a_row()
    {
        var logs = new CapturingLoggerProvider();
        UnreachableNodes? nodes = null;
        await using var broker = await TestBroker.StartAsync(wrapStore: s => nodes = new UnreachableNodes(s), configure: logs.AddTo);
        var reporter = broker.Service<NodeStatusReporter>();

        using (var ready = await broker.Client.GetAsync("/readyz", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        Assert.Equal(1, Failures(logs));
        for (var beat = 2; beat <= 10; beat++)
        {
            broker.Time.Advance(NodeStatus.Heartbeat);
            await reporter.Latest;
            Assert.Equal(beat < 10 ? 1 : 2, Failures(logs));
        }

        Assert.Equal(10, nodes!.Reports);
        Assert.Contains("(10 in a row)", logs.All, StringComparison.Ordinal);
        Assert.True(await broker.IsActiveAsync(await broker.IssueAsync()));
    }

    private static int Failures(CapturingLoggerProvider logs) =>
        logs.Lines.Count(l => l.Contains($"{nameof(NodeStatusReporter)}[45]", StringComparison.Ordinal));

    /// <summary>A store shared by several nodes whose status table cannot be written (the database is down for it).</summary>
    private sealed class UnreachableNodes(ITesseraStore inner) : DelegatingStore(inner), ITesseraStore, INodeStatusStore
    {
        private int _reports;

        public int Reports => Volatile.Read(ref _reports);

        INodeStatusStore? ITesseraStore.Nodes => this;

        public Task ReportAsync(NodeConfig status, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _reports);
            return Task.FromException(new Npgsql.NpgsqlException("the database did not answer"));
        }

        public Task<IReadOnlyList<NodeConfig>> ListAsync(DateTimeOffset seenSince, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<NodeConfig>>([]);
    }

    /// <summary>
    /// A broker on the shared database as node <paramref name="node"/>. Both nodes run in this
    /// process with one host name, so the node's id is given here rather than in its file (which
    /// must be able to equal the other node's).
    /// </summary>
    private static Task<TestBroker> StartNodeAsync(string database, string node, string yaml, TestClock time, List<ITesseraStore> replaced) =>
        TestBroker.StartAsync(yaml, time: time, masterKey: SharedMasterKey,
            wrapStore: embedded =>
            {
                replaced.Add(embedded);
                return new PostgresTesseraStore(database, node);
            },
            configure: builder => builder.Services.AddSingleton(sp =>
                new NodeStatus(sp.GetRequiredService<LiveConfig>(), sp.GetRequiredService<ITesseraStore>().Nodes, time, node)));

    private static async Task<JsonDocument> StatusAsync(TestBroker broker)
    {
        using var response = await broker.AdminAsync(HttpMethod.Get, "/admin/v1/status");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await TestBroker.ReadJsonAsync(response);
    }

    private static List<(string Node, string Hash)> Nodes(JsonDocument status) =>
        [.. status.RootElement.GetProperty("nodes").EnumerateArray().Select(n => (n.GetProperty("node").GetString()!, n.GetProperty("config_hash").GetString()!))];

    private static async Task<List<JsonElement>> FindingsAsync(TestBroker broker)
    {
        using var response = await broker.AdminAsync(HttpMethod.Get, "/admin/v1/posture");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = await TestBroker.ReadJsonAsync(response);
        return [.. json.RootElement.GetProperty("findings").EnumerateArray().Select(f => f.Clone())];
    }
}
