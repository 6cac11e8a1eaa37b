using Microsoft.Data.Sqlite;
using Tessera.Core.Audit;
using Tessera.Core.Identity;
using Tessera.Core.Leases;
using Tessera.Core.Missions;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;
using Tessera.Storage.Contract;
using Tessera.Storage.Sqlite;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>
/// Copying a real embedded store into PostgreSQL: every row as stored, the audit chain as this node's
/// (byte for byte, so it verifies), expired replay entries left behind; and every refusal (a target in
/// use, a source that moved past its verified head, a source table this build does not know) leaves
/// the target without a row.
/// </summary>
public sealed class PostgresImportTests(PostgresCluster cluster) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly PostgresStoreDatabase _db = new(cluster);
    private readonly string _directory = Directory.CreateTempSubdirectory("tessera-import-").FullName;
    private readonly AuditChain _chain = new();
    private SqliteTesseraStore _source = null!;
    private PostgresTesseraStore _target = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await _db.CreateAsync(Ct);
        _source = new SqliteTesseraStore(Path.Combine(_directory, "tessera.db"));
        await _source.MigrateAsync(Ct);
        _target = new PostgresTesseraStore(_db.ConnectionString, "node-copied");
        await _target.MigrateAsync(Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _target.DisposeAsync();
        await _source.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Every_row_is_copied_as_stored_the_chain_becomes_this_nodes_and_expired_replay_entries_stay_behind()
    {
        var key = new StoredSigningKey("kid-1", "ES256", [1, 2, 3, 0, 255], T0, T0.AddMinutes(5));
        await _source.SigningKeys.AddAsync(key, Ct);
        var mission = new MissionRecord("m-1", "alice", "corp", ["support-agent", "sub-agent"], null, T0, T0.AddHours(1));
        await AppendAsync(Record("support-agent", mission: "m-1"),
            new MissionStarted(mission),
            new RevocationEntry(RevocationKind.Token, "jti-revoked", T0, T0.AddDays(1)),
            new AgentSuspension("report-agent", true, T0),
            new AssertionUsed("spent-later", T0.AddHours(2)),
            new AssertionUsed("spent-earlier", T0.AddMinutes(1)));
        var ending = Lease("lease-ending") with
        {
            Principal = "alice", ActorChain = ["support-agent"], Mission = "m-1", Purpose = "Answer ticket 42", Lineage = ["jti-root", "m-1"],
            Scopes = ["db:read", "db:write"], Node = "node-old",
        };
        var ended = Lease("lease-ended");
        await _source.Leases.OpenAsync(ending, Ct);
        await _source.Leases.OpenAsync(ended, Ct);
        await AppendAsync(Record("support-agent"),
            new LeaseStep(ending.Id, LeaseStatus.Ending, T0.AddMinutes(1), 2, T0.AddMinutes(2).AddMilliseconds(5), "connection refused", "token revoked"),
            new LeaseStep(ended.Id, LeaseStatus.Ended, T0.AddMinutes(1).AddMilliseconds(7), EndReason: "expired"));
        Assert.Equal([ending.Id], await _source.Leases.ClaimAsync([ending.Id], "node-old", T0, T0.AddHours(1), Ct));
        var sourceLeases = await _source.Leases.ListAsync(includeEnded: true, 10, Ct);
        Assert.Equal(1, await _source.TokenUses.TryConsumeAsync("jti-limited", 3, T0.AddHours(1), Ct));
        Assert.Equal(2, await _source.TokenUses.TryConsumeAsync("jti-limited", 3, T0.AddHours(1), Ct));
        var verified = await AuditVerifier.VerifyAsync(_source.Audit, Ct);

        var result = await ImportAsync(new AuditHead(verified.VerifiedCount, verified.HeadHash!), now: T0.AddMinutes(30));

        Assert.Equal("node-copied", result.Node);
        Assert.Equal(new AuditHead(2, verified.HeadHash!), result.AuditHead);
        Assert.Equal(2L, result.Rows.Single(r => r.Key == "audit_events").Value);
        Assert.Equal(1L, result.Rows.Single(r => r.Key == "used_assertions").Value);
        var sourceRows = await ToListAsync(_source.Audit.ReadRowsAsync(1, Ct));
        var targetRows = await ToListAsync(_target.Audit.ReadRowsAsync(1, Ct));
        Assert.Equal(sourceRows.Select(r => (r.Seq, Convert.ToHexString(r.Json), r.Hash, r.Columns)), targetRows.Select(r => (r.Seq, Convert.ToHexString(r.Json), r.Hash, r.Columns)));
        Assert.Equal(verified with { }, await AuditVerifier.VerifyAsync(_target.Audit, Ct));

        var copiedKey = Assert.Single(await _target.SigningKeys.LoadAsync(Ct));
        Assert.Equal((key.Kid, key.Algorithm, key.CreatedAt, key.ActivatesAt), (copiedKey.Kid, copiedKey.Algorithm, copiedKey.CreatedAt, copiedKey.ActivatesAt));
        Assert.Equal(key.SealedPrivateKey, copiedKey.SealedPrivateKey);
        var copiedMission = await _target.Missions.FindAsync("m-1", Ct);
        Assert.NotNull(copiedMission);
        Assert.Equal(mission.ActorChain, copiedMission.ActorChain);
        Assert.Null(copiedMission.Purpose);
        Assert.Equal(["jti-revoked"], (await _target.Revocations.LoadActiveAsync(T0, Ct)).Select(r => r.Id));
        Assert.Equal([("report-agent", T0)], await _target.AgentStates.LoadSuspendedAsync(Ct));
        Assert.Equal(["spent-later"], (await _target.Replays.LoadActiveAsync(T0, Ct)).Select(r => r.Key));
        Assert.Equal(3, await _target.TokenUses.TryConsumeAsync("jti-limited", 3, T0.AddHours(1), Ct));
        Assert.Null(await _target.TokenUses.TryConsumeAsync("jti-limited", 3, T0.AddHours(1), Ct));

        // Every lease with every field as the source holds it; the source node's claim is left behind.
        Assert.Equal(2L, result.Rows.Single(r => r.Key == "leases").Value);
        var targetLeases = await _target.Leases.ListAsync(includeEnded: true, 10, Ct);
        Assert.Equal(sourceLeases.Select(Fields), targetLeases.Select(Fields));
        Assert.Equal([ending.Id], (await _target.Leases.LoadLiveAsync(Ct)).Select(l => l.Id));
        Assert.Equal([ending.Id], await _target.Leases.ClaimAsync([ending.Id, ended.Id], "node-copied", T0, T0.AddMinutes(1), Ct));
    }

    [Fact]
    public async Task A_target_holding_any_row_is_refused_and_keeps_only_that_row()
    {
        await AppendAsync(Record("support-agent"));
        await _db.ScalarAsync("INSERT INTO changes (kind, key) VALUES (1, 'someone')", Ct);

        var refused = await Assert.ThrowsAsync<StoreCopyRefusedException>(() => ImportAsync(_chain.Head));

        Assert.Contains("not empty (rows in changes)", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await _db.ScalarAsync("SELECT COUNT(*) FROM audit_events", Ct));
        Assert.Equal(1L, await _db.ScalarAsync("SELECT COUNT(*) FROM changes", Ct));
    }

    [Fact]
    public async Task A_source_that_moved_past_its_verified_head_is_refused_and_nothing_is_written()
    {
        await AppendAsync(Record("support-agent"), new RevocationEntry(RevocationKind.Token, "jti-1", T0, T0.AddDays(1)));
        var verifiedHead = _chain.Head;
        await AppendAsync(Record("support-agent"));

        var refused = await Assert.ThrowsAsync<StoreCopyRefusedException>(() => ImportAsync(verifiedHead));

        Assert.Contains("not at the verified head seq 1", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await _db.ScalarAsync("SELECT (SELECT COUNT(*) FROM audit_events) + (SELECT COUNT(*) FROM revocations)", Ct));
    }

    [Fact]
    public async Task A_source_table_this_build_does_not_copy_refuses_the_copy()
    {
        await AppendAsync(Record("support-agent"));
        await using (var raw = new SqliteConnection($"Data Source={_source.Path};Pooling=False"))
        {
            await raw.OpenAsync(Ct);
            await using var create = raw.CreateCommand();
            create.CommandText = "CREATE TABLE future_things (id TEXT PRIMARY KEY)";
            await create.ExecuteNonQueryAsync(Ct);
        }

        var refused = await Assert.ThrowsAsync<StoreCopyRefusedException>(() => ImportAsync(_chain.Head));

        Assert.Contains("tables this build does not copy (future_things)", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await _db.ScalarAsync("SELECT COUNT(*) FROM audit_events", Ct));
    }

    private async Task<StoreCopyResult> ImportAsync(AuditHead expected, DateTimeOffset? now = null)
    {
        await using var snapshot = await _source.OpenSnapshotAsync(Ct);
        return await _target.ImportAsync(snapshot, expected, now ?? T0, Ct);
    }

    private Task AppendAsync(AuditRecord record, params StateChange[] changes) =>
        _source.Audit.AppendAsync([_chain.Next(record, T0)], changes, Ct);

    private static AuditRecord Record(string agent, string? mission = null) =>
        new() { Type = AuditTypes.TokenIssued, Outcome = AuditOutcomes.Allowed, Agent = agent, Mission = mission };

    private static Lease Lease(string id) => new()
    {
        Id = id,
        Tool = "orders-db",
        Username = LeaseNames.RoleOf(id),
        Status = LeaseStatus.Issuing,
        Agent = "support-agent",
        Jti = "jti-" + id,
        TokenIssuedAt = T0.ToUnixTimeSeconds(),
        Scopes = ["db:read"],
        CreatedAt = T0.AddMilliseconds(id.Length),
        ExpiresAt = T0.AddMinutes(15).AddMilliseconds(3),
    };

    /// <summary>A lease as a comparable string: every field, lists included.</summary>
    private static string Fields(Lease lease) => System.Text.Json.JsonSerializer.Serialize(lease);

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
