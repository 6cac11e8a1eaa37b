using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tessera.Core.Audit;
using Tessera.Core.Identity;
using Tessera.Core.Missions;
using Tessera.Core.Posture;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;

namespace Tessera.Storage.Contract;

/// <summary>The audit chain's storage: what is appended is read back, queried and verified exactly, and a failed batch leaves nothing.</summary>
public abstract class AuditStoreContract(IStoreDatabase database) : StoreContract(database)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task An_empty_log_has_the_genesis_head()
    {
        var head = await Store.Audit.GetHeadAsync(Ct);

        Assert.Equal(new AuditHead(0, AuditEvent.GenesisHash), head);
    }

    [Fact]
    public async Task Appended_events_are_read_back_exactly_as_written()
    {
        var record = new AuditRecord
        {
            Type = AuditTypes.TokenExchanged,
            Outcome = AuditOutcomes.Allowed,
            Principal = "alice",
            Agent = "summarizer-agent",
            ActorChain = ["support-agent", "summarizer-agent"],
            Mission = "m-1",
            Purpose = "Summarize ticket 42",
            Tool = "crm",
            Scopes = ["crm:read"],
            Jti = "jti-1",
            Reason = "delegated",
            RequestId = "req-1",
        };
        var e1 = Chain.Next(record, T0.AddMilliseconds(123));
        var e2 = Chain.Next(Record(agent: "b"), T0.AddSeconds(1));

        await Store.Audit.AppendAsync([e1, e2], [], Ct);

        Assert.Equal(new AuditHead(2, e2.Hash), await Store.Audit.GetHeadAsync(Ct));
        var read = Assert.Single(await Store.Audit.QueryAsync(new AuditQuery { Mission = "m-1" }, Ct));
        Assert.Equal(e1.Json, read.Json);
        Assert.Equal(e1.Hash, read.Hash);
        Assert.Equal(e1.Time, read.Time);
        Assert.Equal(e1.PrevHash, read.PrevHash);
        Assert.Equal(record.ActorChain, read.Record.ActorChain);
        Assert.Equal(record with { ActorChain = null, Scopes = null }, read.Record with { ActorChain = null, Scopes = null });

        var rows = await ToListAsync(Store.Audit.ReadRowsAsync(2, Ct));
        Assert.Equal(new[] { 2L }, rows.Select(r => r.Seq));
        Assert.Equal(e2.Json, rows[0].Json);
    }

    [Fact]
    public async Task Rows_read_in_batches_are_at_most_the_limit_in_sequence_order_from_the_given_seq()
    {
        var events = Enumerable.Range(0, 5).Select(i => Chain.Next(Record(agent: "a"), T0.AddSeconds(i))).ToList();
        await Store.Audit.AppendAsync(events, [], Ct);

        var batch = await ToListAsync(Store.Audit.ReadRowsAsync(2, 3, Ct));
        var rest = await ToListAsync(Store.Audit.ReadRowsAsync(5, 3, Ct));

        Assert.Equal([2L, 3L, 4L], batch.Select(r => r.Seq));
        Assert.Equal(events[1..4].Select(e => e.Hash), batch.Select(r => r.Hash));
        Assert.Equal([5L], rest.Select(r => r.Seq));
        Assert.Empty(await ToListAsync(Store.Audit.ReadRowsAsync(6, 3, Ct)));
    }

    [Fact]
    public async Task Queries_filter_by_agent_principal_mission_tool_type_time_and_page()
    {
        var events = new[]
        {
            Chain.Next(Record(agent: "a", principal: "alice", mission: "m1", tool: "crm"), T0),
            Chain.Next(Record(agent: "b", principal: "alice", mission: "m1", tool: "github"), T0.AddMinutes(1)),
            Chain.Next(Record(agent: "a", principal: "bob", mission: "m2", tool: "crm", type: AuditTypes.TokenDenied), T0.AddMinutes(2)),
            Chain.Next(Record(agent: "a", principal: "alice", mission: "m1", tool: "crm"), T0.AddMinutes(3)),
            Chain.Next(Record(agent: "c"), T0.AddMinutes(4)),
        };
        await Store.Audit.AppendAsync(events, [], Ct);

        await AssertSeqs(new AuditQuery { Agent = "a" }, 1, 3, 4);
        await AssertSeqs(new AuditQuery { Principal = "alice" }, 1, 2, 4);
        await AssertSeqs(new AuditQuery { Mission = "m2" }, 3);
        await AssertSeqs(new AuditQuery { Tool = "crm" }, 1, 3, 4);
        await AssertSeqs(new AuditQuery { Type = AuditTypes.TokenDenied }, 3);
        await AssertSeqs(new AuditQuery { Since = T0.AddMinutes(2) }, 3, 4, 5);
        await AssertSeqs(new AuditQuery { AfterSeq = 3 }, 4, 5);
        await AssertSeqs(new AuditQuery { Limit = 2 }, 1, 2);
        await AssertSeqs(new AuditQuery { Agent = "a", Principal = "alice", Since = T0.AddSeconds(1) }, 4);
        await AssertSeqs(new AuditQuery { Agent = "nobody" });

        Assert.Equal(3, await Store.Audit.CountAsync(new AuditQuery { Agent = "a", Limit = 1 }, Ct));
        Assert.Equal(1, await Store.Audit.CountAsync(new AuditQuery { Agent = "a", AfterSeq = 3 }, Ct));
    }

    [Fact]
    public async Task Statements_reused_across_batches_keep_no_value_of_an_earlier_batch()
    {
        // The writer keeps its prepared statements between commits; a column one batch set must be
        // empty again in the next batch that leaves it out.
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "a", principal: "alice", mission: "m1", tool: "crm"), T0)],
            [new RevocationEntry(RevocationKind.Token, "jti-1", T0, T0.AddHours(1))], Ct);
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "b"), T0.AddMinutes(1))],
            [new RevocationEntry(RevocationKind.Mission, "m-2", T0, T0.AddHours(2))], Ct);
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "c", tool: "github"), T0.AddMinutes(2))], [], Ct);

        await AssertSeqs(new AuditQuery { Principal = "alice" }, 1);
        await AssertSeqs(new AuditQuery { Mission = "m1" }, 1);
        await AssertSeqs(new AuditQuery { Tool = "crm" }, 1);
        await AssertSeqs(new AuditQuery { Tool = "github" }, 3);
        await AssertSeqs(new AuditQuery { Since = T0.AddMinutes(1) }, 2, 3);
        Assert.Equal(
            [new RevocationEntry(RevocationKind.Token, "jti-1", T0, T0.AddHours(1)), new RevocationEntry(RevocationKind.Mission, "m-2", T0, T0.AddHours(2))],
            (await Store.Revocations.LoadActiveAsync(T0, Ct)).OrderBy(e => e.Id));
    }

    [Fact]
    public async Task A_batch_that_fails_midway_leaves_nothing_of_itself_written()
    {
        var good = Chain.Next(Record(agent: "a"), T0);
        await Store.Audit.AppendAsync([good], [], Ct);
        var e2 = Chain.Next(Record(agent: "a"), T0.AddSeconds(1));
        var e3 = Chain.Next(Record(agent: "a"), T0.AddSeconds(2));
        var revocation = new RevocationEntry(RevocationKind.Token, "jti-1", T0, T0.AddHours(1));

        // The duplicate seq fails on the third insert, after two rows and before the state change.
        await AssertWriteRefusedAsync(() => Store.Audit.AppendAsync([e2, e3, e2], [revocation], Ct));

        Assert.Equal(new AuditHead(1, good.Hash), await Store.Audit.GetHeadAsync(Ct));
        Assert.Equal(1, await Store.Audit.CountAsync(new AuditQuery(), Ct));
        Assert.Empty(await Store.Revocations.LoadActiveAsync(T0, Ct));

        // The writer is usable again, and the same events now commit.
        await Store.Audit.AppendAsync([e2, e3], [revocation], Ct);
        Assert.Equal(3, (await Store.Audit.GetHeadAsync(Ct)).Seq);
        Assert.Single(await Store.Revocations.LoadActiveAsync(T0, Ct));
    }

    [Fact]
    public async Task A_batch_of_events_alone_that_fails_midway_leaves_nothing_of_itself_written()
    {
        var good = Chain.Next(Record(agent: "a"), T0);
        await Store.Audit.AppendAsync([good], [], Ct);
        var e2 = Chain.Next(Record(agent: "a"), T0.AddSeconds(1));
        var e3 = Chain.Next(Record(agent: "a"), T0.AddSeconds(2));

        // No state change (a group of issued tokens): the duplicate seq fails the third insert, after two rows.
        await AssertWriteRefusedAsync(() => Store.Audit.AppendAsync([e2, e3, e2], [], Ct));

        // The same group with its usage counters (what every group of tokens carries): neither is written.
        var usage = new UsageObserved(new Dictionary<string, DateTimeOffset> { ["a"] = T0 }, new Dictionary<AgentScope, DateTimeOffset>(), new Dictionary<RuleUse, DateTimeOffset>());
        await AssertWriteRefusedAsync(() => Store.Audit.AppendAsync([e2, e3, e2], [usage], Ct));
        Assert.Null((await Store.Usage.ReadAsync(Ct)).Of("a").LastTokenAt);

        Assert.Equal(new AuditHead(1, good.Hash), await Store.Audit.GetHeadAsync(Ct));
        Assert.Equal(1, await Store.Audit.CountAsync(new AuditQuery(), Ct));

        // The writer is usable again, and the same events now commit.
        await Store.Audit.AppendAsync([e2, e3], [], Ct);
        Assert.Equal(new AuditHead(3, e3.Hash), await Store.Audit.GetHeadAsync(Ct));
    }

    [Fact]
    public async Task A_state_change_that_cannot_be_stored_rolls_back_its_events()
    {
        var e1 = Chain.Next(Record(agent: "a"), T0);
        var revocation = new RevocationEntry(RevocationKind.Token, "jti-1", T0, T0.AddHours(1));

        await Assert.ThrowsAsync<NotSupportedException>(() => Store.Audit.AppendAsync([e1], [revocation, new UnknownChange()], Ct));

        Assert.Equal(0, (await Store.Audit.GetHeadAsync(Ct)).Seq);
        Assert.Empty(await Store.Revocations.LoadActiveAsync(T0, Ct));
    }

    [Fact]
    public async Task The_audit_log_appends_through_one_instance_and_another_verifies_and_continues_the_chain()
    {
        var time = new FakeTimeProvider(T0);
        await using (var log = new AuditLog(Store.Audit, time, NullLogger<AuditLog>.Instance))
        {
            await log.StartAsync(Ct);
            for (var i = 0; i < 10; i++)
            {
                time.Advance(TimeSpan.FromSeconds(1));
                await log.AppendAsync(Record(agent: i % 2 == 0 ? "a" : "b"), new RevocationEntry(RevocationKind.Token, $"jti-{i}", T0, T0.AddHours(1)), Ct);
            }
        }

        await using var other = await OpenMigratedAsync();
        var first = await AuditVerifier.VerifyAsync(other.Audit, Ct);
        Assert.True(first.IsIntact, first.Problem);
        Assert.Equal(10, first.VerifiedCount);
        Assert.Equal((await Store.Audit.GetHeadAsync(Ct)).Hash, first.HeadHash);
        Assert.Equal(10, (await other.Revocations.LoadActiveAsync(T0, Ct)).Count);

        // A restart (another instance of this node's store) continues the same chain from its head.
        await using (var log = new AuditLog(other.Audit, time, NullLogger<AuditLog>.Instance))
        {
            await log.StartAsync(Ct);
            time.Advance(TimeSpan.FromSeconds(1));
            var next = await log.AppendAsync(Record(agent: "c"), cancellationToken: Ct);
            Assert.Equal(11, next.Seq);
            Assert.Equal(first.HeadHash, next.PrevHash);
        }

        var second = await AuditVerifier.VerifyAsync(Store.Audit, Ct);
        Assert.True(second.IsIntact, second.Problem);
        Assert.Equal(11, second.VerifiedCount);
        Assert.Equal(5, await Store.Audit.CountAsync(new AuditQuery { Agent = "a" }, Ct));
    }

    [Fact]
    public async Task Deleting_an_event_behind_the_stores_back_breaks_verification_at_its_sequence_number()
    {
        var events = Enumerable.Range(0, 5).Select(i => Chain.Next(Record(agent: "a"), T0.AddSeconds(i))).ToArray();
        await Store.Audit.AppendAsync(events, [], Ct);

        await Database.ScalarAsync("DELETE FROM audit_events WHERE seq = 3", Ct);

        var result = await AuditVerifier.VerifyAsync(Store.Audit, Ct);
        Assert.False(result.IsIntact);
        Assert.Equal(3, result.BrokenAtSeq);
    }
}
