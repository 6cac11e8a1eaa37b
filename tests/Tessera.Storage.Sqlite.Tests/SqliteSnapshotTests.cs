namespace Tessera.Storage.Sqlite.Tests;

/// <summary>The embedded store read for a copy: one fixed view of every table, and only of this build's schema.</summary>
public sealed class SqliteSnapshotTests : SqliteStoreTest
{
    [Fact]
    public async Task A_snapshot_reads_rows_as_stored_and_does_not_see_what_commits_after_it_opened()
    {
        await Store.Audit.AppendAsync([Chain.Next(Issued("a"), T0)], [], Ct);
        await using var snapshot = await Store.OpenSnapshotAsync(Ct);

        await Store.Audit.AppendAsync([Chain.Next(Issued("b"), T0)], [], Ct);
        var rows = new List<object?[]>();
        await foreach (var row in snapshot.ReadAsync("audit_events", ["seq", "agent", "principal", "json"], "seq", Ct))
        {
            rows.Add((object?[])row.Clone());
        }

        var only = Assert.Single(rows);
        Assert.Equal(1L, only[0]);
        Assert.Equal("a", only[1]);
        Assert.Null(only[2]);
        Assert.IsType<byte[]>(only[3]);
        Assert.Contains("audit_events", await snapshot.TablesAsync(Ct));
        Assert.DoesNotContain("schema_version", await snapshot.TablesAsync(Ct));
    }

    [Fact]
    public async Task A_database_of_an_older_schema_is_refused()
    {
        using (var raw = Db.OpenRaw())
        using (var drop = raw.CreateCommand())
        {
            drop.CommandText = $"DELETE FROM schema_version WHERE version = {SqliteTesseraStore.SchemaVersion}";
            drop.ExecuteNonQuery();
        }

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.OpenSnapshotAsync(Ct));

        Assert.Contains("older than this build's", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_name_that_is_not_an_identifier_is_refused_before_any_sql()
    {
        await using var snapshot = await Store.OpenSnapshotAsync(Ct);

        await Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await foreach (var _ in snapshot.ReadAsync("audit_events; DROP TABLE audit_events", ["seq"], "seq", Ct))
            {
            }
        });
    }

    private static AuditRecord Issued(string agent) => new() { Type = AuditTypes.TokenIssued, Outcome = AuditOutcomes.Allowed, Agent = agent };
}
