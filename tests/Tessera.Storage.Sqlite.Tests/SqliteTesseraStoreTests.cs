using Tessera.Core.Missions;
using Tessera.Core.Revocation;
using Tessera.Core.Tokens;

namespace Tessera.Storage.Sqlite.Tests;

public sealed class SqliteTesseraStoreTests : SqliteStoreTest
{
    [Fact]
    public async Task Migrating_twice_changes_nothing_and_keeps_the_data()
    {
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "a"), T0)], [], Ct);

        await Store.MigrateAsync(Ct);
        await using (var reopened = new SqliteTesseraStore(Db.Path))
        {
            await reopened.MigrateAsync(Ct);
        }

        using var raw = Db.OpenRaw();
        using var versions = raw.CreateCommand();
        versions.CommandText = "SELECT group_concat(version) FROM (SELECT version FROM schema_version ORDER BY version)";
        Assert.Equal(string.Join(",", Enumerable.Range(1, SqliteMigrations.Steps.Length)), versions.ExecuteScalar());
        Assert.Equal(1, (await Store.Audit.GetHeadAsync(Ct)).Seq);
    }

    [Fact]
    public async Task A_database_from_a_newer_build_is_refused()
    {
        using (var raw = Db.OpenRaw())
        using (var bump = raw.CreateCommand())
        {
            bump.CommandText = "INSERT INTO schema_version(version) VALUES (99)";
            bump.ExecuteNonQuery();
        }

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.MigrateAsync(Ct));
        Assert.Contains("schema version 99", ex.Message, StringComparison.Ordinal);
    }

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
    public async Task Revocations_survive_reopening_the_file()
    {
        var entry = new RevocationEntry(RevocationKind.Token, "jti-1", T0, T0.AddMinutes(10));
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "admin"), T0)], [entry], Ct);
        await Store.DisposeAsync();

        Store = new SqliteTesseraStore(Db.Path);
        await Store.MigrateAsync(Ct);

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

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_new_database_its_journal_files_and_its_directory_are_for_the_owner_only()
    {
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "admin"), T0)], [], Ct);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(Db.Path)!));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(Db.Path));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(Db.Path + "-wal"));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(Db.Path + "-shm"));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task An_existing_database_readable_by_others_is_made_private_when_the_store_opens_it()
    {
        await Store.DisposeAsync();
        foreach (var file in new[] { Db.Path, Db.Path + "-wal", Db.Path + "-shm" }.Where(File.Exists))
        {
            File.SetUnixFileMode(file, OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        Store = new SqliteTesseraStore(Db.Path);
        await Store.MigrateAsync(Ct);
        await Store.Audit.AppendAsync([Chain.Next(Record(agent: "admin"), T0)], [], Ct);

        Assert.Equal(OwnerOnly, File.GetUnixFileMode(Db.Path));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(Db.Path + "-wal"));
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
    public async Task A_batch_that_fails_midway_leaves_nothing_of_itself_written()
    {
        var good = Chain.Next(Record(agent: "a"), T0);
        await Store.Audit.AppendAsync([good], [], Ct);
        var e2 = Chain.Next(Record(agent: "a"), T0.AddSeconds(1));
        var e3 = Chain.Next(Record(agent: "a"), T0.AddSeconds(2));
        var revocation = new RevocationEntry(RevocationKind.Token, "jti-1", T0, T0.AddHours(1));

        // The duplicate seq fails on the third insert, after two rows and before the state change.
        await Assert.ThrowsAsync<SqliteException>(() => Store.Audit.AppendAsync([e2, e3, e2], [revocation], Ct));

        Assert.Equal(new AuditHead(1, good.Hash), await Store.Audit.GetHeadAsync(Ct));
        Assert.Equal(1, await Store.Audit.CountAsync(new AuditQuery(), Ct));
        Assert.Empty(await Store.Revocations.LoadActiveAsync(T0, Ct));

        // The writer is usable again, and the same events now commit.
        await Store.Audit.AppendAsync([e2, e3], [revocation], Ct);
        Assert.Equal(3, (await Store.Audit.GetHeadAsync(Ct)).Seq);
        Assert.Single(await Store.Revocations.LoadActiveAsync(T0, Ct));
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
    public async Task A_duplicate_signing_key_fails_the_batch_and_its_event()
    {
        var key = new StoredSigningKey("kid-1", "ES256", [1], T0, T0);
        await Store.SigningKeys.AddAsync(key, Ct);

        await Assert.ThrowsAsync<SqliteException>(() => Store.Audit.AppendAsync([Chain.Next(Record(agent: "admin"), T0)], [new SigningKeyAdded(key)], Ct));

        Assert.Equal(0, (await Store.Audit.GetHeadAsync(Ct)).Seq);
        Assert.Single(await Store.SigningKeys.LoadAsync(Ct));
    }

    private async Task AssertSeqs(AuditQuery query, params long[] expected)
    {
        var events = await Store.Audit.QueryAsync(query, Ct);
        Assert.Equal(expected, events.Select(e => e.Seq));
    }

    private static AuditRecord Record(string agent, string? principal = null, string? mission = null, string? tool = null, string type = AuditTypes.TokenIssued) => new()
    {
        Type = type,
        Outcome = type == AuditTypes.TokenDenied ? AuditOutcomes.Denied : AuditOutcomes.Allowed,
        Agent = agent,
        Principal = principal,
        Mission = mission,
        Tool = tool,
    };

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }

    private sealed record UnknownChange : StateChange;
}
