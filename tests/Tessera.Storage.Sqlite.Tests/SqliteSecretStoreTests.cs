namespace Tessera.Storage.Sqlite.Tests;

/// <summary>What the vault's storage does in SQLite beyond the storage contract (VaultStoreContract).</summary>
public sealed class SqliteSecretStoreTests : SqliteStoreTest
{
    [Fact]
    public async Task Recorded_versions_are_read_through_their_partial_index_not_by_scanning_the_audit_log()
    {
        AuditRecord Event(string type, string? secret) => new() { Type = type, Outcome = AuditOutcomes.Allowed, Secret = secret };
        await Store.Audit.AppendAsync([
            Chain.Next(Event(AuditTypes.SecretPut, "crm-key v1"), T0),
            Chain.Next(Event(AuditTypes.SecretRotated, "crm-key v2"), T0.AddMinutes(1)),
            Chain.Next(Event(AuditTypes.TokenIssued, null), T0.AddMinutes(2)),
        ], [], Ct);

        Assert.Equal(new Dictionary<string, int> { ["crm-key"] = 2 }, await Store.Secrets.LoadRecordedVersionsAsync(Ct));

        // Read at every start: it must not scan the whole audit log.
        using var raw = Db.OpenRaw();
        using var plan = raw.CreateCommand();
        plan.CommandText = "EXPLAIN QUERY PLAN " + SqliteSecretStore.RecordedVersionsQuery;
        using var reader = plan.ExecuteReader();
        var steps = new List<string>();
        while (reader.Read())
        {
            steps.Add(reader.GetString(3));
        }

        Assert.Contains(steps, step => step.Contains("USING INDEX audit_events_secret_versions", StringComparison.Ordinal));
    }
}
