using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Tokens;
using Tessera.Storage.Contract;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>
/// The storage contract's <see cref="AuditCheckpointContract"/>, on PostgreSQL: one node's chain, its
/// checkpoints naming the node; and what only a store of one chain per node does: each node
/// checkpoints its own chain, and an export holds the latest checkpoint of every node.
/// </summary>
public sealed class PostgresAuditCheckpointTests(PostgresCluster cluster) : AuditCheckpointContract(new PostgresStoreDatabase(cluster))
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly SigningKey _key = SigningKey.Generate(T0, T0);

    [Fact]
    public async Task Each_node_checkpoints_its_own_chain_and_a_truncated_node_chain_fails_its_own_checkpoint_only()
    {
        await AppendAsync("node-a", 4);
        await AppendAsync("node-b", 7);

        var chains = await AuditVerifier.VerifyAllAsync(Store.Audit, Ct);
        Assert.Equal(["node-a", "node-b"], chains.Select(c => c.Node));
        Assert.All(chains, c => Assert.True(c.Result.IsIntact, c.Result.Problem));
        var file = AuditCheckpointFile.Of(chains.Select(c => c.Result.LatestCheckpoint!), T0);
        Assert.Equal([("node-a", 3L), ("node-b", 7L)], file.Checkpoints.Select(c => (c.Checkpoint.Node!, c.Checkpoint.Seq)));
        Assert.Single(file.Keys);

        await Database.ScalarAsync("DELETE FROM audit_events WHERE node = 'node-b' AND seq > 4", Ct);
        var verdicts = await AuditCheckpointVerifier.VerifyAsync(file, Store.Audit, await AuditVerifier.VerifyAllAsync(Store.Audit, Ct), new HashSet<string>(), Ct);

        Assert.True(verdicts[0].Holds, verdicts[0].Message);
        Assert.StartsWith("checkpoint of node node-a seq 3 holds: ", verdicts[0].Message, StringComparison.Ordinal);
        Assert.False(verdicts[1].Holds);
        Assert.Equal("checkpoint of node node-b seq 7: the log ends at seq 4, before the checkpoint's seq 7: it was truncated behind the checkpoint", verdicts[1].Message);
    }

    /// <summary><paramref name="count"/> events on <paramref name="node"/>'s chain, through its own writer, which cuts a checkpoint every 3 events.</summary>
    private async Task AppendAsync(string node, int count)
    {
        await using var store = new PostgresTesseraStore(((PostgresStoreDatabase)Database).ConnectionString, node);
        await store.MigrateAsync(Ct);
        var checkpointer = new AuditCheckpointer(new AuditCheckpointOptions(true, 3, TimeSpan.FromHours(1)));
        checkpointer.SignWith(_ => _key);
        var time = new FakeTimeProvider(T0);
        await using var log = new AuditLog(store.Audit, time, NullLogger<AuditLog>.Instance, checkpointer);
        await log.StartAsync(Ct);
        for (var i = 0; i < count; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await log.AppendAsync(Record($"agent-{node}"), cancellationToken: Ct);
        }
    }
}
