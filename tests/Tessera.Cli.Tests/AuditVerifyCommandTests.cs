using Microsoft.Extensions.Logging.Abstractions;
using Tessera.Core.Audit;

namespace Tessera.Cli.Tests;

[Collection("Console")]
public sealed class AuditVerifyCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tessera-cli-").FullName;
    private readonly string _configPath;
    private readonly string _dbPath;

    public AuditVerifyCommandTests()
    {
        _configPath = Path.Combine(_dir, "tessera.yaml");
        _dbPath = Path.Combine(_dir, "data", "tessera.db");
        File.WriteAllText(_configPath, """
            storage: sqlite:data/tessera.db
            data_dir: data
            tools:
              - id: crm
                upstream: http://127.0.0.1:9102
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
            agents:
              - id: support-agent
                owner: support-platform@corp.example
                purpose: Answer customer tickets from CRM data
                expires: 2027-06-30
                auth:
                  client_secret_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
                allowed_scopes: [ "crm:read" ]
            """);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Runs <paramref name="sql"/> on the database behind the broker's back; it must change exactly one row.</summary>
    private void ChangeOneRow(string sql)
    {
        using var raw = new SqliteConnection($"Data Source={_dbPath};Pooling=False");
        raw.Open();
        using var command = raw.CreateCommand();
        command.CommandText = sql;
        Assert.Equal(1, command.ExecuteNonQuery());
    }

    [Fact]
    public async Task An_intact_log_exits_0_and_reports_the_count()
    {
        await FillAsync(6);

        var (exit, stdout, stderr) = await RunAsync("audit", "verify", "--config", _configPath);

        Assert.Equal(0, exit);
        Assert.Contains("audit chain intact: 6 events verified", stdout, StringComparison.Ordinal);
        Assert.Equal("", stderr);
    }

    [Theory]
    [InlineData("UPDATE audit_events SET json = CAST(replace(CAST(json AS TEXT), 'support-agent', 'other-agent') AS BLOB) WHERE seq = 4",
        "audit chain broken at seq 4: event content does not match its hash (modified)")]
    // The event's JSON and hash are untouched: only `audit query --agent` would miss it.
    [InlineData("UPDATE audit_events SET agent = 'other-agent' WHERE seq = 4", "audit chain broken at seq 4: column agent disagrees with the event")]
    [InlineData("DELETE FROM audit_events WHERE seq = 2", "audit chain broken at seq 2: event missing (next stored event is seq 3)")]
    public async Task A_tampered_log_exits_1_naming_the_first_bad_seq_and_what_is_wrong_with_it(string tampering, string problem)
    {
        await FillAsync(6);
        ChangeOneRow(tampering);

        var (exit, stdout, stderr) = await RunAsync("audit", "verify", "--config", _configPath);

        Assert.Equal(1, exit);
        Assert.Equal(problem + "\n", stderr);
        Assert.Equal("", stdout);
    }

    [Fact]
    public async Task Verifying_without_a_database_exits_1()
    {
        var (exit, _, stderr) = await RunAsync("audit", "verify", "--config", _configPath);

        Assert.Equal(1, exit);
        Assert.Contains("No audit database", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_configuration_exits_1_naming_the_mistake()
    {
        File.WriteAllText(_configPath, File.ReadAllText(_configPath).Replace("    owner: support-platform@corp.example\n", "", StringComparison.Ordinal));

        var (exit, _, stderr) = await RunAsync("audit", "verify", "--config", _configPath);

        Assert.Equal(1, exit);
        Assert.Contains("tessera.yaml: agents[0].owner: is required", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_command_is_a_usage_error()
    {
        var (exit, _, stderr) = await RunAsync("bogus");

        Assert.Equal(2, exit);
        Assert.Contains("tessera --help", stderr, StringComparison.Ordinal);
    }

    private async Task FillAsync(int count)
    {
        await using var store = new SqliteTesseraStore(_dbPath);
        await store.MigrateAsync(TestContext.Current.CancellationToken);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var log = new AuditLog(store.Audit, time, NullLogger<AuditLog>.Instance);
        await log.StartAsync(TestContext.Current.CancellationToken);
        for (var i = 1; i <= count; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await log.AppendAsync(new AuditRecord
            {
                Type = AuditTypes.TokenIssued,
                Outcome = AuditOutcomes.Allowed,
                Agent = "support-agent",
                Tool = "crm",
                Scopes = ["crm:read"],
                Jti = $"jti-{i}",
            }, cancellationToken: TestContext.Current.CancellationToken);
        }
    }

    private static Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args) => TesseraCli.RunAsync(args);
}
