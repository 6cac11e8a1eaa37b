using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Tessera.Core.Audit;
using Tessera.Core.Storage;
using Tessera.Storage.Contract;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>What the PostgreSQL store does beyond the storage contract: its schema versions and one audit chain per node.</summary>
public sealed class PostgresTesseraStoreTests(PostgresCluster cluster) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly PostgresStoreDatabase _db = new(cluster);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await _db.CreateAsync(Ct);

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    [Fact]
    public async Task Nodes_migrating_at_once_apply_each_step_once_and_a_later_migration_changes_nothing()
    {
        var stores = Enumerable.Range(0, 4).Select(i => new PostgresTesseraStore(_db.ConnectionString, $"node-{i}")).ToList();
        try
        {
            await Task.WhenAll(stores.Select(s => Task.Run(() => s.MigrateAsync(Ct))));
            await stores[0].MigrateAsync(Ct);
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }

        Assert.Equal(string.Join(",", Enumerable.Range(1, PostgresMigrations.Steps.Length)),
            await _db.ScalarAsync("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations", Ct));
    }

    [Fact]
    public async Task A_database_from_a_newer_build_is_refused()
    {
        await using var store = new PostgresTesseraStore(_db.ConnectionString, "node-a");
        await store.MigrateAsync(Ct);
        await _db.ScalarAsync("INSERT INTO schema_migrations (version) VALUES (99)", Ct);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => store.MigrateAsync(Ct));
        Assert.Contains("schema version 99", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_node_appends_to_its_own_chain_and_each_chain_verifies()
    {
        var time = new FakeTimeProvider(T0);
        await using var a = new PostgresTesseraStore(_db.ConnectionString, "node-a");
        await using var b = new PostgresTesseraStore(_db.ConnectionString, "node-b");
        await a.MigrateAsync(Ct);
        await b.MigrateAsync(Ct);
        await using (var logA = new AuditLog(a.Audit, time, NullLogger<AuditLog>.Instance))
        await using (var logB = new AuditLog(b.Audit, time, NullLogger<AuditLog>.Instance))
        {
            await logA.StartAsync(Ct);
            await logB.StartAsync(Ct);
            var appends = new List<Task>();
            for (var i = 0; i < 20; i++)
            {
                appends.Add(logA.AppendAsync(Record("agent-a"), cancellationToken: Ct));
                appends.Add(logB.AppendAsync(Record("agent-b"), cancellationToken: Ct));
            }

            appends.Add(logA.AppendAsync(Record("agent-a"), cancellationToken: Ct));
            await Task.WhenAll(appends);
        }

        var verifiedA = await AuditVerifier.VerifyAsync(a.Audit, Ct);
        var verifiedB = await AuditVerifier.VerifyAsync(b.Audit, Ct);
        Assert.True(verifiedA.IsIntact, verifiedA.Problem);
        Assert.True(verifiedB.IsIntact, verifiedB.Problem);
        Assert.Equal((21, 20), (verifiedA.VerifiedCount, verifiedB.VerifiedCount));
        Assert.Equal(21L, await _db.ScalarAsync("SELECT COUNT(*) FROM audit_events WHERE node = 'node-a' AND agent = 'agent-a'", Ct));
        Assert.Equal(0L, await _db.ScalarAsync("SELECT COUNT(*) FROM audit_events WHERE node = 'node-a' AND agent = 'agent-b'", Ct));

        // Counts (and queries) see every node's chain: node-b's events, counted through node-a.
        Assert.Equal(20L, await a.Audit.CountAsync(new AuditQuery { Agent = "agent-b" }, Ct));
    }

    [Fact]
    public async Task A_second_writer_on_one_nodes_chain_fails_on_the_key_instead_of_forking_the_chain()
    {
        await using var first = new PostgresTesseraStore(_db.ConnectionString, "node-a");
        await using var second = new PostgresTesseraStore(_db.ConnectionString, "node-a");
        await first.MigrateAsync(Ct);
        var chain = new AuditChain();
        var e1 = chain.Next(Record("agent-a"), T0);
        await first.Audit.AppendAsync([e1], [], Ct);

        // The second process read the same head and appends its own event 1.
        var fork = new AuditChain().Next(Record("agent-x"), T0.AddSeconds(1));
        var ex = await Assert.ThrowsAsync<PostgresException>(() => second.Audit.AppendAsync([fork], [], Ct));

        Assert.Equal(PostgresErrorCodes.UniqueViolation, ex.SqlState);
        Assert.True((await AuditVerifier.VerifyAsync(first.Audit, Ct)).IsIntact);
        Assert.Equal(new AuditHead(1, e1.Hash), await second.Audit.GetHeadAsync(Ct));
    }

    [Fact]
    public async Task Recorded_secret_versions_are_read_from_every_nodes_chain()
    {
        await using var a = new PostgresTesseraStore(_db.ConnectionString, "node-a");
        await using var b = new PostgresTesseraStore(_db.ConnectionString, "node-b");
        await a.MigrateAsync(Ct);
        await a.Audit.AppendAsync([new AuditChain().Next(Record("admin") with { Type = AuditTypes.SecretPut, Secret = "crm-key v1" }, T0)], [], Ct);
        await b.Audit.AppendAsync([new AuditChain().Next(Record("admin") with { Type = AuditTypes.SecretRotated, Secret = "crm-key v2" }, T0)], [], Ct);

        Assert.Equal(new Dictionary<string, int> { ["crm-key"] = 2 }, await a.Secrets.LoadRecordedVersionsAsync(Ct));
    }

    [Fact]
    public async Task A_read_only_store_reads_and_verifies_but_the_server_refuses_its_writes()
    {
        await using (var writer = new PostgresTesseraStore(_db.ConnectionString, "node-a"))
        {
            await writer.MigrateAsync(Ct);
            await writer.Audit.AppendAsync([new AuditChain().Next(Record("agent-a"), T0)], [], Ct);
        }

        await using var reader = new PostgresTesseraStore(_db.ConnectionString, "node-a", readOnly: true);

        Assert.True((await AuditVerifier.VerifyAsync(reader.Audit, Ct)).IsIntact);
        var ex = await Assert.ThrowsAsync<PostgresException>(() => reader.TokenUses.TryConsumeAsync("jti-1", 1, T0, Ct));
        Assert.Equal(PostgresErrorCodes.ReadOnlySqlTransaction, ex.SqlState);
    }

    private static AuditRecord Record(string agent) => new() { Type = AuditTypes.TokenIssued, Outcome = AuditOutcomes.Allowed, Agent = agent };
}
