using Tessera.Core.Audit;
using Tessera.Core.Vault;

namespace Tessera.Storage.Contract;

/// <summary>The vault's and the use counters' persistence: what is committed is what is loaded.</summary>
public abstract class VaultStoreContract(IStoreDatabase database) : StoreContract(database)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    private static AuditRecord Record() => new() { Type = AuditTypes.SecretPut, Outcome = AuditOutcomes.Allowed };

    private static SealedSecretVersion Version(string name, int version, string key, DateTimeOffset at) =>
        new(name, version, at, key, [1, 2, (byte)version], [3, 4, (byte)version]);

    [Fact]
    public async Task Versions_keys_retirement_rekey_and_destruction_round_trip()
    {
        var k1 = new KeyEncryptionKey("kek-1", [9, 9], T0);
        await Store.Audit.AppendAsync([Chain.Next(Record(), T0)],
            [new VaultKeyChanged(k1, [], []), new SecretVersionAdded(Version("crm-key", 1, "kek-1", T0), null, null)], Ct);
        await Store.Audit.AppendAsync([Chain.Next(Record(), T0.AddMinutes(1))],
            [new SecretVersionAdded(Version("crm-key", 2, "kek-1", T0.AddMinutes(1)), 1, T0.AddHours(1))], Ct);

        var versions = await Store.Secrets.LoadVersionsAsync(Ct);
        Assert.Equal([1, 2], versions.Select(v => v.Version));
        Assert.Equal(T0.AddMinutes(1), versions[0].RetiredAt);
        Assert.Equal(T0.AddHours(1), versions[0].DestroyAfter);
        Assert.Null(versions[1].RetiredAt);
        Assert.Equal([3, 4, 2], versions[1].Ciphertext);

        var k2 = new KeyEncryptionKey("kek-2", [7], T0.AddMinutes(2));
        await Store.Audit.AppendAsync([Chain.Next(Record(), T0.AddMinutes(2))],
            [new VaultKeyChanged(k2, [new RewrappedKey(new SecretVersionId("crm-key", 1), [5]), new RewrappedKey(new SecretVersionId("crm-key", 2), [6])], ["kek-1"])], Ct);

        Assert.Equal(["kek-2"], (await Store.Secrets.LoadKeysAsync(Ct)).Select(k => k.Id));
        Assert.All(await Store.Secrets.LoadVersionsAsync(Ct), v => Assert.Equal("kek-2", v.KeyId));

        await Store.Audit.AppendAsync([Chain.Next(Record(), T0.AddHours(2))],
            [new SecretVersionsDestroyed([new SecretVersionId("crm-key", 1)], T0.AddHours(2))], Ct);

        Assert.Equal([2], (await Store.Secrets.LoadVersionsAsync(Ct)).Select(v => v.Version));
        var erased = await Database.ScalarAsync(
            "SELECT ciphertext IS NULL AND wrapped_key IS NULL AND destroyed_at IS NOT NULL FROM secret_versions WHERE version = 1", Ct);
        Assert.True(Convert.ToBoolean(erased, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Recorded_versions_are_the_newest_put_or_rotated_version_of_each_secret_in_the_audit_log()
    {
        AuditRecord Event(string type, string? secret) => new() { Type = type, Outcome = AuditOutcomes.Allowed, Secret = secret };
        await Store.Audit.AppendAsync([
            Chain.Next(Event(AuditTypes.SecretPut, "crm-key v1"), T0),
            Chain.Next(Event(AuditTypes.SecretRotated, "crm-key v2"), T0.AddMinutes(1)),
            Chain.Next(Event(AuditTypes.SecretRotated, "crm-key v3"), T0.AddMinutes(2)),
            Chain.Next(Event(AuditTypes.SecretPut, "gh-token v1"), T0.AddMinutes(3)),
            Chain.Next(Event(AuditTypes.SecretDenied, "gh-token"), T0.AddMinutes(4)),
            Chain.Next(Event(AuditTypes.SecretDestroyed, "crm-key v1, crm-key v2"), T0.AddMinutes(5)),
            Chain.Next(Event(AuditTypes.TokenIssued, null), T0.AddMinutes(6)),
        ], [], Ct);

        var recorded = await Store.Secrets.LoadRecordedVersionsAsync(Ct);

        Assert.Equal(new Dictionary<string, int> { ["crm-key"] = 3, ["gh-token"] = 1 }, recorded);
    }

    [Fact]
    public async Task A_rekey_that_would_orphan_a_data_key_is_not_committed()
    {
        var k1 = new KeyEncryptionKey("kek-1", [9], T0);
        await Store.Audit.AppendAsync([Chain.Next(Record(), T0)],
            [new VaultKeyChanged(k1, [], []), new SecretVersionAdded(Version("crm-key", 1, "kek-1", T0), null, null)], Ct);
        var head = await Store.Audit.GetHeadAsync(Ct);

        // Removes kek-1 but rewraps nothing: crm-key v1 would be unreadable forever.
        var orphaning = new VaultKeyChanged(new KeyEncryptionKey("kek-2", [7], T0), [], ["kek-1"]);
        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.Audit.AppendAsync([Chain.Next(Record(), T0)], [orphaning], Ct));

        Assert.Equal(["kek-1"], (await Store.Secrets.LoadKeysAsync(Ct)).Select(k => k.Id));
        Assert.Equal(head, await Store.Audit.GetHeadAsync(Ct));
    }

    [Fact]
    public async Task Token_uses_are_counted_up_to_the_limit_and_no_further()
    {
        var exp = T0.AddMinutes(5);

        var results = new List<int?>();
        for (var i = 0; i < 4; i++)
        {
            results.Add(await Store.TokenUses.TryConsumeAsync("jti-1", 3, exp, Ct));
        }

        Assert.Equal([1, 2, 3, null], results);
        Assert.Equal(1, await Store.TokenUses.TryConsumeAsync("jti-2", 1, exp, Ct));
    }

    [Fact]
    public async Task Concurrent_uses_never_exceed_the_limit_and_survive_a_reopen()
    {
        var exp = T0.AddMinutes(5);

        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(() => Store.TokenUses.TryConsumeAsync("jti-c", 5, exp, Ct))));

        Assert.Equal([1, 2, 3, 4, 5], results.Where(r => r is not null).Select(r => r!.Value).Order());
        await ReopenAsync();
        Assert.Null(await Store.TokenUses.TryConsumeAsync("jti-c", 5, exp, Ct));
    }

    [Fact]
    public async Task Expired_use_counters_are_pruned()
    {
        await Store.TokenUses.TryConsumeAsync("old", 1, T0, Ct);
        await Store.TokenUses.TryConsumeAsync("live", 1, T0.AddHours(1), Ct);

        await Store.TokenUses.PruneAsync(T0.AddMinutes(1), Ct);

        Assert.Equal(1L, Convert.ToInt64(await Database.ScalarAsync("SELECT COUNT(*) FROM token_uses", Ct), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("live", await Database.ScalarAsync("SELECT jti FROM token_uses", Ct));
    }

    [Fact]
    public async Task Uses_counted_through_two_instances_on_one_database_never_exceed_the_limit_together()
    {
        // Two nodes of one installation share the counter: the limit holds across them, not per node.
        var exp = T0.AddMinutes(5);
        await using var other = await OpenMigratedAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Task.Run(() => (i % 2 == 0 ? Store : other).TokenUses.TryConsumeAsync("jti-shared", 7, exp, Ct))));

        Assert.Equal([1, 2, 3, 4, 5, 6, 7], results.Where(r => r is not null).Select(r => r!.Value).Order());
        Assert.Null(await other.TokenUses.TryConsumeAsync("jti-shared", 7, exp, Ct));
        Assert.Null(await Store.TokenUses.TryConsumeAsync("jti-shared", 7, exp, Ct));
    }
}
