using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Tessera.Core.Revocation;
using Tessera.Core.Sessions;
using Tessera.Core.Vault;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>
/// Nodes on one database applying each other's changes: through the change log and its
/// notifications, after a lost listener connection, and refusing to vouch for themselves
/// (<see cref="Core.Cluster.ClusterFreshness"/>) while they cannot read the log.
/// </summary>
public sealed class PostgresChangeFeedTests(PostgresCluster cluster) : IAsyncLifetime
{
    private static readonly TimeSpan MaxStaleness = TimeSpan.FromSeconds(1);
    private readonly PostgresStoreDatabase _db = new(cluster);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly MasterKey _masterKey = ClusterNode.NewMasterKey();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await _db.CreateAsync(Ct);

    public async ValueTask DisposeAsync()
    {
        _masterKey.Dispose();
        await _db.DisposeAsync();
    }

    private Task<ClusterNode> StartAsync(string nodeId, bool follow = true) =>
        ClusterNode.StartAsync(_db.ConnectionString, nodeId, _time, _masterKey, MaxStaleness, Ct, follow);

    [Fact]
    public async Task A_revocation_committed_by_one_node_is_applied_by_the_other()
    {
        await using var a = await StartAsync("node-a");
        await using var b = await StartAsync("node-b");

        await a.Revoker.RevokeAsync(RevocationKind.Mission, "m-1", "admin", null, Ct);

        await b.WaitUntilAsync(() => b.Revocations.IsIdRevoked("m-1"), "node-b applies the mission revocation node-a committed");
        Assert.True(b.Freshness.IsCurrent);
    }

    [Fact]
    public async Task A_console_sign_out_on_one_node_ends_the_session_on_the_other()
    {
        await using var a = await StartAsync("node-a");
        await using var b = await StartAsync("node-b");
        var onA = new ConsoleSessions(a.Revocations, a.Log, _time);
        var onB = new ConsoleSessions(b.Revocations, b.Log, _time);
        var session = onA.Start("carol");
        Assert.Equal(ConsoleSessionVerdict.Live, onB.Check(session));

        await onA.SignOutAsync(session, "corp:carol", null, Ct);

        await b.WaitUntilAsync(() => onB.Check(session) == ConsoleSessionVerdict.SignedOut, "node-b ends the session node-a signed out");
        await using var restarted = await StartAsync("node-c");
        Assert.Equal(ConsoleSessionVerdict.SignedOut, new ConsoleSessions(restarted.Revocations, restarted.Log, _time).Check(session));
    }

    [Fact]
    public async Task Suspensions_signing_keys_and_secrets_changed_on_one_node_are_applied_by_the_other()
    {
        await using var a = await StartAsync("node-a");
        await using var b = await StartAsync("node-b");

        await a.Suspended.SetAsync("agent-1", suspended: true, "admin", null, Ct);
        await b.WaitUntilAsync(() => b.Suspended.IsSuspended("agent-1"), "node-b sees agent-1 suspended");
        await a.Suspended.SetAsync("agent-1", suspended: false, "admin", null, Ct);
        await b.WaitUntilAsync(() => !b.Suspended.IsSuspended("agent-1"), "node-b sees agent-1 resumed");

        var key = await a.Keys.RotateAsync("admin", null, Ct);
        await b.WaitUntilAsync(() => b.Keys.Ring.Keys.Any(k => k.Kid == key.Kid), "node-b publishes the key node-a created");

        await a.Vault.PutAsync("crm-token", "v1"u8.ToArray(), "admin", null, Ct);
        await b.WaitUntilAsync(() => b.Vault.List().Any(s => s.Name == "crm-token"), "node-b holds the secret node-a stored");
    }

    [Fact]
    public async Task A_node_whose_listener_was_killed_catches_up_from_the_log()
    {
        await using var a = await StartAsync("node-a");
        await using var b = await StartAsync("node-b", follow: false);
        await b.Store.Changes.WaitAsync(TimeSpan.FromMinutes(1), Ct); // connects the listener and returns
        Assert.NotEqual(0, b.Store.ListenerProcessId);

        await TerminateAsync(b.Store.ListenerProcessId);
        await a.Revoker.RevokeAsync(RevocationKind.Mission, "m-lost", "admin", null, Ct); // notified to nobody on node-b

        // The cut connection surfaces on the next wait (not after its minute), and the one after connects again.
        await Assert.ThrowsAnyAsync<Exception>(() => b.Store.Changes.WaitAsync(TimeSpan.FromMinutes(1), Ct));
        await b.Store.Changes.WaitAsync(TimeSpan.FromMinutes(1), Ct);
        Assert.False(b.Revocations.IsIdRevoked("m-lost"));

        await b.Sync.CatchUpAsync(Ct);

        Assert.True(b.Revocations.IsIdRevoked("m-lost"));
    }

    [Fact]
    public async Task A_node_following_the_log_recovers_from_a_killed_listener_by_itself()
    {
        await using var a = await StartAsync("node-a");
        await using var b = await StartAsync("node-b");
        await a.Revoker.RevokeAsync(RevocationKind.Mission, "m-1", "admin", null, Ct);
        await b.WaitUntilAsync(() => b.Revocations.IsIdRevoked("m-1"), "node-b applies m-1");

        await b.Store.Listening.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(1, await TerminateListenerOfAsync("node-b"));
        await a.Revoker.RevokeAsync(RevocationKind.Mission, "m-2", "admin", null, Ct);

        await b.WaitUntilAsync(() => b.Revocations.IsIdRevoked("m-2"), "node-b applies m-2 after its listener was cut");
        lock (b.Failures)
        {
            Assert.NotEmpty(b.Failures); // it did see the connection go
        }
    }

    [Fact]
    public async Task A_node_cut_off_longer_than_max_staleness_is_stale_until_it_caught_up()
    {
        await using var a = await StartAsync("node-a");
        await using var b = await StartAsync("node-b", follow: false);
        Assert.True(b.Freshness.IsCurrent);
        await b.Store.Changes.WaitAsync(TimeSpan.FromMinutes(1), Ct);
        await TerminateAsync(b.Store.ListenerProcessId);
        await a.Revoker.RevokeAsync(RevocationKind.Mission, "m-1", "admin", null, Ct);

        _time.Advance(MaxStaleness);
        Assert.True(b.Freshness.IsCurrent); // exactly max_staleness: still within the promise
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(b.Freshness.IsCurrent);

        await Assert.ThrowsAnyAsync<Exception>(() => b.Store.Changes.WaitAsync(TimeSpan.FromMinutes(1), Ct));
        await b.Store.Changes.WaitAsync(TimeSpan.FromMinutes(1), Ct);
        await b.Sync.CatchUpAsync(Ct);

        Assert.True(b.Freshness.IsCurrent);
        Assert.True(b.Revocations.IsIdRevoked("m-1"));
    }

    [Fact]
    public async Task Revocations_committed_concurrently_by_several_nodes_are_all_applied_none_skipped()
    {
        var writers = new List<ClusterNode>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                writers.Add(await StartAsync($"writer-{i}"));
            }

            await using var reader = await StartAsync("reader");
            var ids = Enumerable.Range(0, 3).SelectMany(w => Enumerable.Range(0, 40).Select(n => $"m-{w}-{n}")).ToList();

            await Task.WhenAll(writers.Select((writer, w) => Task.Run(async () =>
            {
                foreach (var id in ids.Where(id => id.StartsWith($"m-{w}-", StringComparison.Ordinal)))
                {
                    await writer.Revoker.RevokeAsync(RevocationKind.Mission, id, "admin", null, Ct);
                }
            }, Ct)));

            await reader.WaitUntilAsync(() => ids.All(reader.Revocations.IsIdRevoked), "the reader applies all 120 revocations");
            var applied = reader.Sync.LastApplied;
            Assert.Equal(applied, await reader.Store.Changes.GetHeadAsync(Ct));
        }
        finally
        {
            foreach (var writer in writers)
            {
                await writer.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_change_rolled_back_is_neither_logged_nor_notified()
    {
        await using var a = await StartAsync("node-a");
        var head = await a.Store.Changes.GetHeadAsync(Ct);
        await _db.ScalarAsync("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$", Ct);
        await _db.ScalarAsync("CREATE TRIGGER refuse BEFORE INSERT ON changes FOR EACH ROW EXECUTE FUNCTION refuse()", Ct);

        await Assert.ThrowsAnyAsync<Exception>(() => a.Revoker.RevokeAsync(RevocationKind.Mission, "m-1", "admin", null, Ct));

        Assert.Equal(head, await a.Store.Changes.GetHeadAsync(Ct));
        Assert.Equal(0L, await _db.ScalarAsync("SELECT COUNT(*) FROM revocations", Ct));
    }

    [Fact]
    public async Task Pruning_removes_old_entries_and_a_node_that_had_not_applied_them_stays_stale_until_restarted()
    {
        await using var a = await StartAsync("node-a");
        await using var current = await StartAsync("node-current", follow: false);
        await using var behind = await StartAsync("node-behind", follow: false);
        await a.Revoker.RevokeAsync(RevocationKind.Mission, "m-1", "admin", null, Ct);
        await current.Sync.CatchUpAsync(Ct);

        Assert.Equal(0, await a.Store.Changes.PruneAsync(TimeSpan.FromDays(1), Ct)); // nothing that old
        Assert.True(await a.Store.Changes.PruneAsync(TimeSpan.Zero, Ct) > 0);

        await current.Sync.CatchUpAsync(Ct); // it had applied everything pruned: unaffected
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => behind.Sync.CatchUpAsync(Ct));
        Assert.Contains("restart this node", ex.Message, StringComparison.Ordinal);
        _time.Advance(MaxStaleness + TimeSpan.FromMilliseconds(1));
        Assert.False(behind.Freshness.IsCurrent);
        Assert.False(behind.Revocations.IsIdRevoked("m-1"));

        await using var restarted = await StartAsync("node-behind-restarted", follow: false);
        Assert.True(restarted.Revocations.IsIdRevoked("m-1"));
        Assert.True(restarted.Freshness.IsCurrent);
    }

    private async Task TerminateAsync(int processId) =>
        Assert.Equal(true, await _db.ScalarAsync($"SELECT pg_terminate_backend({processId})", Ct));

    private async Task<long> TerminateListenerOfAsync(string nodeId)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_db.ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = @name AND query LIKE 'LISTEN%'", connection);
        command.Parameters.AddWithValue("name", $"tessera {nodeId} listener");
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
