namespace Tessera.Storage.Sqlite.Tests;

/// <summary>What the SQLite store does beyond the storage contract (its schema versions, its files).</summary>
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






    private static AuditRecord Record(string agent, string? principal = null, string? mission = null, string? tool = null, string type = AuditTypes.TokenIssued) => new()
    {
        Type = type,
        Outcome = type == AuditTypes.TokenDenied ? AuditOutcomes.Denied : AuditOutcomes.Allowed,
        Agent = agent,
        Principal = principal,
        Mission = mission,
        Tool = tool,
    };
}
