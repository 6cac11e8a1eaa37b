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

/// <summary>Each kind of state change is stored with the audit event that records it and read back through its port.</summary>
public abstract class StateChangeContract(IStoreDatabase database) : StoreContract(database)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_revocation_is_stored_with_its_event_and_loaded_and_pruned_by_expiry()
    {
        var mission = new RevocationEntry(RevocationKind.Mission, "m-1", T0, T0.AddMinutes(10));
        var agent = new RevocationEntry(RevocationKind.Agent, "agent-a", T0, T0.AddHours(1));
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "admin"), T0)], [mission, agent], Ct);

        Assert.Equal([mission, agent], (await Store.Revocations.LoadActiveAsync(T0, Ct)).OrderBy(e => e.Kind));
        Assert.Equal([mission, agent], (await Store.Revocations.LoadActiveAsync(T0.AddMinutes(10), Ct)).OrderBy(e => e.Kind));
        Assert.Equal([agent], await Store.Revocations.LoadActiveAsync(T0.AddMinutes(10).AddMilliseconds(1), Ct));

        Assert.Equal(0, await Store.Revocations.PruneAsync(T0.AddMinutes(10), Ct));
        Assert.Equal(1, await Store.Revocations.PruneAsync(T0.AddMinutes(11), Ct));
        Assert.Equal([agent], await Store.Revocations.LoadActiveAsync(T0, Ct));
    }

    [Fact]
    public async Task Revoking_the_same_agent_again_keeps_the_latest_cut_and_expiry()
    {
        var first = new RevocationEntry(RevocationKind.Agent, "agent-a", T0.AddMinutes(5), T0.AddHours(2));
        var earlier = new RevocationEntry(RevocationKind.Agent, "agent-a", T0, T0.AddHours(1));
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "admin"), T0)], [first], Ct);
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "admin"), T0)], [earlier], Ct);

        Assert.Equal([first], await Store.Revocations.LoadActiveAsync(T0, Ct));
    }

    [Fact]
    public async Task Usage_counters_keep_the_latest_time_of_each_agent_scope_and_rule_and_survive_reopening()
    {
        static UsageObserved Usage(DateTimeOffset at) => new(
            new Dictionary<string, DateTimeOffset> { ["crm-bot"] = at },
            new Dictionary<AgentScope, DateTimeOffset> { [new("crm-bot", "crm:read")] = at, [new("crm-bot", "crm:write")] = at },
            new Dictionary<RuleUse, DateTimeOffset> { [new("crm:read", "GET /contacts/**")] = at });
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "crm-bot"), T0)], [Usage(T0.AddMinutes(5))], Ct);

        // An update from an earlier time (another node's older batch) moves nothing back.
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "crm-bot"), T0)], [Usage(T0)], Ct);
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "other-bot"), T0)], [new UsageObserved(
            new Dictionary<string, DateTimeOffset> { ["other-bot"] = T0 },
            new Dictionary<AgentScope, DateTimeOffset> { [new("crm-bot", "crm:write")] = T0.AddMinutes(9) },
            new Dictionary<RuleUse, DateTimeOffset>())], Ct);
        await ReopenAsync();

        var usage = await Store.Usage.ReadAsync(Ct);
        var crm = usage.Of("crm-bot");
        Assert.Equal(T0.AddMinutes(5), crm.LastTokenAt);
        Assert.Equal(new Dictionary<string, DateTimeOffset> { ["crm:read"] = T0.AddMinutes(5), ["crm:write"] = T0.AddMinutes(9) }, crm.ScopesLastGranted);
        Assert.Equal(T0, usage.Of("other-bot").LastTokenAt);
        Assert.Empty(usage.Of("other-bot").ScopesLastGranted);
        Assert.Equal(new Dictionary<RuleUse, DateTimeOffset> { [new("crm:read", "GET /contacts/**")] = T0.AddMinutes(5) }, usage.RulesLastMatched);
        Assert.Null(usage.Of("never-bot").LastTokenAt);
    }

    [Fact]
    public async Task Revocations_survive_reopening_the_file()
    {
        var entry = new RevocationEntry(RevocationKind.Token, "jti-1", T0, T0.AddMinutes(10));
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "admin"), T0)], [entry], Ct);

        await ReopenAsync();

        Assert.Equal([entry], await Store.Revocations.LoadActiveAsync(T0, Ct));
    }

    [Fact]
    public async Task A_signing_key_is_added_with_its_event_and_deleted()
    {
        var key = new StoredSigningKey("kid-1", "ES256", [1, 2, 3, 4], T0, T0.AddMinutes(1));
        var other = new StoredSigningKey("kid-2", "ES256", [5, 6], T0.AddHours(1), T0.AddHours(1).AddMinutes(1));
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "admin", type: AuditTypes.KeyCreated), T0)], [new SigningKeyAdded(key)], Ct);
        await Store.SigningKeys.AddAsync(other, Ct);

        var loaded = await Store.SigningKeys.LoadAsync(Ct);
        Assert.Equal(["kid-1", "kid-2"], loaded.Select(k => k.Kid));
        Assert.Equal(key.SealedPrivateKey, loaded[0].SealedPrivateKey);
        Assert.Equal((key.Algorithm, key.CreatedAt, key.ActivatesAt), (loaded[0].Algorithm, loaded[0].CreatedAt, loaded[0].ActivatesAt));

        await Store.SigningKeys.DeleteAsync("kid-1", Ct);

        Assert.Equal(["kid-2"], (await Store.SigningKeys.LoadAsync(Ct)).Select(k => k.Kid));
    }

    [Fact]
    public async Task A_retired_signing_key_is_deleted_with_its_event()
    {
        var key = new StoredSigningKey("kid-1", "ES256", [1, 2, 3, 4], T0, T0.AddMinutes(1));
        var other = new StoredSigningKey("kid-2", "ES256", [5, 6], T0.AddHours(1), T0.AddHours(1).AddMinutes(1));
        await Store.SigningKeys.AddAsync(key, Ct);
        await Store.SigningKeys.AddAsync(other, Ct);

        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "admin", type: AuditTypes.KeyRetired), T0.AddHours(3))], [new SigningKeyRetired("kid-1")], Ct);

        Assert.Equal(["kid-2"], (await Store.SigningKeys.LoadAsync(Ct)).Select(k => k.Kid));
        Assert.Single(await Store.Audit.QueryAsync(new AuditQuery { Type = AuditTypes.KeyRetired }, Ct));
    }

    [Fact]
    public async Task A_mission_is_stored_with_its_event_and_found()
    {
        var mission = new MissionRecord("m-1", "alice", "corp", ["support-agent"], "Answer ticket 42", T0, T0.AddMinutes(10));
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "support-agent", mission: "m-1"), T0)], [new MissionStarted(mission)], Ct);

        var found = await Store.Missions.FindAsync("m-1", Ct);

        Assert.NotNull(found);
        Assert.Equal(mission with { ActorChain = [] }, found with { ActorChain = [] });
        Assert.Equal(mission.ActorChain, found.ActorChain);
        Assert.Null(await Store.Missions.FindAsync("m-2", Ct));
        Assert.Equal(["m-1"], (await Store.Missions.ListAsync(T0, 10, Ct)).Select(m => m.Id));
        Assert.Empty(await Store.Missions.ListAsync(T0.AddSeconds(1), 10, Ct));
    }

    [Fact]
    public async Task A_duplicate_signing_key_fails_the_batch_and_its_event()
    {
        var key = new StoredSigningKey("kid-1", "ES256", [1], T0, T0);
        await Store.SigningKeys.AddAsync(key, Ct);

        await AssertWriteRefusedAsync(() => Store.Audit.AppendAsync([Chain.Next(Record(agent: "admin"), T0)], [new SigningKeyAdded(key)], Ct));

        Assert.Equal(0, (await Store.Audit.GetHeadAsync(Ct)).Seq);
        Assert.Single(await Store.SigningKeys.LoadAsync(Ct));
    }

    [Fact]
    public async Task An_agent_suspension_is_stored_with_its_event_kept_from_the_first_and_lifted()
    {
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "admin"), T0)], [new AgentSuspension("agent-a", true, T0)], Ct);
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "admin"), T0.AddMinutes(1))],
            [new AgentSuspension("agent-a", true, T0.AddMinutes(1)), new AgentSuspension("agent-b", true, T0.AddMinutes(1))], Ct);

        Assert.Equal([("agent-a", T0), ("agent-b", T0.AddMinutes(1))], (await Store.AgentStates.LoadSuspendedAsync(Ct)).OrderBy(s => s.AgentId, StringComparer.Ordinal));

        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "admin"), T0.AddMinutes(2))], [new AgentSuspension("agent-a", false, T0.AddMinutes(2))], Ct);

        Assert.Equal([("agent-b", T0.AddMinutes(1))], await Store.AgentStates.LoadSuspendedAsync(Ct));
    }

    [Fact]
    public async Task A_used_assertion_is_kept_as_first_stored_loaded_until_it_expires_and_pruned()
    {
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "a"), T0)], [new AssertionUsed("assertion\na\njti-1", T0.AddMinutes(5))], Ct);
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "a"), T0)],
            [new AssertionUsed("assertion\na\njti-1", T0.AddMinutes(9)), new AssertionUsed("assertion\na\njti-2", T0.AddMinutes(1))], Ct);

        Assert.Equal([("assertion\na\njti-1", T0.AddMinutes(5)), ("assertion\na\njti-2", T0.AddMinutes(1))],
            (await Store.Replays.LoadActiveAsync(T0, Ct)).OrderBy(k => k.Key, StringComparer.Ordinal));
        Assert.Equal(["assertion\na\njti-1"], (await Store.Replays.LoadActiveAsync(T0.AddMinutes(2), Ct)).Select(k => k.Key));

        Assert.Equal(1, await Store.Replays.PruneAsync(T0.AddMinutes(2), Ct));
        Assert.Equal(2, (await Store.Audit.GetHeadAsync(Ct)).Seq);
    }

    [Fact]
    public async Task A_key_used_through_one_instance_is_refused_through_another_until_it_expires()
    {
        // What nodes sharing a database check before accepting a DPoP proof or client assertion.
        await using var other = await OpenMigratedAsync();
        Assert.True(await Store.Replays.TryUseAsync("dpop:k:jti-1", T0.AddMinutes(2), T0, Ct));
        Assert.False(await other.Replays.TryUseAsync("dpop:k:jti-1", T0.AddMinutes(2), T0.AddMinutes(1), Ct));
        Assert.False(await Store.Replays.TryUseAsync("dpop:k:jti-1", T0.AddMinutes(9), T0.AddMinutes(2), Ct)); // live at its expiry, as LoadActiveAsync says

        // Expired but not yet pruned: usable again, with the new expiry.
        Assert.True(await other.Replays.TryUseAsync("dpop:k:jti-1", T0.AddMinutes(9), T0.AddMinutes(3), Ct));
        Assert.Equal([("dpop:k:jti-1", T0.AddMinutes(9))], await Store.Replays.LoadActiveAsync(T0.AddMinutes(3), Ct));

        // An assertion stored with its audit event is used too.
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "a"), T0)], [new AssertionUsed("assertion\na\njti-2", T0.AddMinutes(5))], Ct);
        Assert.False(await other.Replays.TryUseAsync("assertion\na\njti-2", T0.AddMinutes(5), T0, Ct));
    }

    [Fact]
    public async Task An_assertion_used_through_one_instance_is_refused_by_a_replay_cache_loaded_from_another()
    {
        // What a node loads into its replay cache when it starts: an assertion spent through another
        // instance on the same database is refused there too.
        await using var other = await OpenMigratedAsync();
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "a"), T0)], [new AssertionUsed("assertion\na\njti-1", T0.AddMinutes(5))], Ct);

        var active = await other.Replays.LoadActiveAsync(T0, Ct);
        Assert.Equal([("assertion\na\njti-1", T0.AddMinutes(5))], active);
        var cache = new MemoryReplayCache(new FakeTimeProvider(T0));
        foreach (var (key, expires) in active)
        {
            Assert.True(await cache.TryUseAsync(key, expires, Ct));
        }

        Assert.False(await cache.TryUseAsync("assertion\na\njti-1", T0.AddMinutes(5), Ct));
        Assert.True(await cache.TryUseAsync("assertion\na\njti-2", T0.AddMinutes(5), Ct));
    }
}
