using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tessera.Core.Audit;
using Tessera.Core.Storage;
using Tessera.Storage.Contract;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>
/// The storage contract's <see cref="AuditStoreContract"/>, on PostgreSQL; and what only a store of
/// one chain per node does: two nodes on one database, each appending its own chain through its own
/// <see cref="AuditLog"/>, seen together by queries, counts and verification.
/// </summary>
public sealed class PostgresAuditStoreTests(PostgresCluster cluster) : AuditStoreContract(new PostgresStoreDatabase(cluster))
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Queries_and_counts_see_the_events_of_every_node_each_naming_its_node()
    {
        await using var a = await NodeAsync("node-a", T0);
        await using var b = await NodeAsync("node-b", T0.AddMilliseconds(500));
        await a.AppendAsync(Record("agent-1", mission: "m-1"));
        await b.AppendAsync(Record("agent-2", mission: "m-1"));
        await a.AppendAsync(Record("agent-1", mission: "m-2"));

        var events = await a.Store.Audit.QueryAsync(new AuditQuery { AfterByNode = new Dictionary<string, long>() }, Ct);

        // Merged by time: node-b's clock is half a second ahead of node-a's.
        Assert.Equal(["node-a:1", "node-b:1", "node-a:2"], events.Select(e => $"{e.Node}:{e.Seq}"));
        Assert.All(events, e => Assert.Equal(e.Node, AuditEvent.Parse(e.Json, e.Hash).Node));
        Assert.Equal(2, await a.Store.Audit.CountAsync(new AuditQuery { Mission = "m-1" }, Ct));
        Assert.Equal(["node-a:1", "node-b:1"], (await b.Store.Audit.QueryAsync(new AuditQuery { Mission = "m-1" }, Ct)).Select(e => $"{e.Node}:{e.Seq}"));
    }

    [Fact]
    public async Task Paging_while_two_nodes_append_neither_skips_nor_repeats_an_event()
    {
        // node-b's clock is behind: what it commits after a page was read is timed before that page.
        await using var a = await NodeAsync("node-a", T0.AddMinutes(1));
        await using var b = await NodeAsync("node-b", T0);
        var appended = new List<string>();
        var seen = new List<string>();
        var cursor = new AuditCursor(0, new Dictionary<string, long>());
        for (var round = 0; round < 12; round++)
        {
            appended.Add(await a.AppendAsync(Record("agent-a")));
            if (round % 3 != 1)
            {
                appended.Add(await b.AppendAsync(Record("agent-b")));
            }

            var page = await a.Store.Audit.QueryAsync(new AuditQuery { AfterByNode = cursor.ByNode, Limit = 2 }, Ct);
            seen.AddRange(page.Select(e => $"{e.Node}:{e.Seq}"));
            cursor = AuditCursor.TryParse(cursor.After(page).Format(), out var next) ? next : throw new InvalidOperationException("cursor");
        }

        while (await a.Store.Audit.QueryAsync(new AuditQuery { AfterByNode = cursor.ByNode, Limit = 2 }, Ct) is { Count: > 0 } rest)
        {
            seen.AddRange(rest.Select(e => $"{e.Node}:{e.Seq}"));
            cursor = cursor.After(rest);
        }

        Assert.Equal(appended.Count, seen.Distinct().Count());
        Assert.Equal(appended.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_audit_sinks_batch_read_holds_only_its_own_nodes_chain()
    {
        await using var a = await NodeAsync("node-a", T0);
        await using var b = await NodeAsync("node-b", T0);
        await a.AppendAsync(Record("agent-1"));
        await b.AppendAsync(Record("agent-2"));
        await a.AppendAsync(Record("agent-1"));
        await b.AppendAsync(Record("agent-2"));
        await a.AppendAsync(Record("agent-1"));

        var rows = await ToListAsync(a.Store.Audit.ReadRowsAsync(1, 2, Ct));

        Assert.Equal(["node-a:1", "node-a:2"], rows.Select(r => $"{r.Node}:{r.Seq}"));
        Assert.Equal(["node-b:2"], (await ToListAsync(b.Store.Audit.ReadRowsAsync(2, 10, Ct))).Select(r => $"{r.Node}:{r.Seq}"));
    }

    [Fact]
    public async Task Every_nodes_chain_verifies_and_a_chain_moved_to_another_node_fails_naming_it()
    {
        await using (var a = await NodeAsync("node-a", T0))
        await using (var b = await NodeAsync("node-b", T0))
        {
            await a.AppendAsync(Record("agent-1"));
            await a.AppendAsync(Record("agent-1"));
            await a.AppendAsync(Record("agent-1"));
            await b.AppendAsync(Record("agent-2"));
            await b.AppendAsync(Record("agent-2"));
        }

        var intact = await AuditVerifier.VerifyAllAsync(Store.Audit, Ct);

        Assert.Equal(["node-a", "node-b"], intact.Select(c => c.Node));
        Assert.All(intact, c => Assert.True(c.Result.IsIntact, c.Result.Problem));
        Assert.Equal([3L, 2L], intact.Select(c => c.Result.VerifiedCount));
        Assert.Equal((await ToListAsync(Store.Audit.ReadRowsAsync("node-b", 2, Ct))).Single().Hash, intact[1].Result.HeadHash);

        await Database.ScalarAsync("UPDATE audit_events SET node = 'node-c' WHERE node = 'node-b'", Ct);
        var moved = await AuditVerifier.VerifyAllAsync(Store.Audit, Ct);

        Assert.Equal(["node-a", "node-c"], moved.Select(c => c.Node));
        Assert.True(moved[0].Result.IsIntact);
        Assert.Equal(1, moved[1].Result.BrokenAtSeq);
        Assert.Equal("column node disagrees with the event (recorded on another node)", moved[1].Result.Problem);
    }

    private async Task<Node> NodeAsync(string id, DateTimeOffset start)
    {
        var store = new PostgresTesseraStore(((PostgresStoreDatabase)Database).ConnectionString, id);
        await store.MigrateAsync(Ct);
        var time = new FakeTimeProvider(start);
        var log = new AuditLog(store.Audit, time, NullLogger<AuditLog>.Instance);
        await log.StartAsync(Ct);
        return new Node(store, log, time);
    }

    /// <summary>One node: its store and its audit writer, whose clock moves a second per event.</summary>
    private sealed record Node(PostgresTesseraStore Store, AuditLog Log, FakeTimeProvider Time) : IAsyncDisposable
    {
        public async Task<string> AppendAsync(AuditRecord record)
        {
            Time.Advance(TimeSpan.FromSeconds(1));
            var e = await Log.AppendAsync(record, cancellationToken: Ct);
            return $"{Store.NodeId}:{e.Seq}";
        }

        public async ValueTask DisposeAsync()
        {
            await Log.DisposeAsync();
            await Store.DisposeAsync();
        }
    }
}
