using Microsoft.Extensions.Logging.Abstractions;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Tokens;

namespace Tessera.Cli.Tests;

/// <summary>
/// <c>tessera audit checkpoint export</c> and <c>tessera audit verify --checkpoint</c> on a real SQLite
/// log: export the latest checkpoint to a file, keep it, and find the log cut short behind it later.
/// </summary>
[Collection("Console")]
public sealed class AuditCheckpointCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tessera-cli-").FullName;
    private readonly string _configPath;
    private readonly string _dbPath;
    private readonly string _filePath;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly SigningKey _key;

    public AuditCheckpointCommandTests()
    {
        _key = SigningKey.Generate(_time.GetUtcNow(), _time.GetUtcNow());
        _configPath = Path.Combine(_dir, "tessera.yaml");
        _dbPath = Path.Combine(_dir, "data", "tessera.db");
        _filePath = Path.Combine(_dir, "checkpoints.json");
        File.WriteAllText(_configPath, """
            storage: sqlite:data/tessera.db
            data_dir: data
            """);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task An_exported_checkpoint_verifies_against_the_log_it_came_from()
    {
        await FillAsync(7, everyEvents: 3); // checkpoints at seq 4 (of 3) and 8 (of 7), then one event at seq 9

        var (exit, stdout, stderr) = await RunAsync("audit", "checkpoint", "export", "--config", _configPath, "--out", _filePath);

        Assert.Equal(0, exit);
        Assert.Equal("", stderr);
        var file = AuditCheckpointFile.Parse(File.ReadAllBytes(_filePath), out var problem);
        Assert.Null(problem);
        var exported = Assert.Single(file!.Checkpoints);
        Assert.Equal(8, exported.EventSeq);
        Assert.Equal(7, exported.Checkpoint.Seq);
        Assert.Equal(_key.Kid, Assert.Single(file.Keys).Kid);
        Assert.Equal($"exported the checkpoint of seq 7 (hash {exported.Checkpoint.HeadHash}, key {_key.Kid}) to {_filePath}\n", stdout);

        await FillAsync(2, everyEvents: 3); // seq 10 and 11, and the checkpoint of 11 at seq 12
        (exit, stdout, stderr) = await RunAsync("audit", "verify", "--config", _configPath, "--checkpoint", _filePath);

        Assert.Equal(0, exit);
        Assert.Equal("", stderr);
        var lines = TesseraCli.Lines(stdout);
        Assert.StartsWith("audit chain intact: 12 events verified in ", lines[0], StringComparison.Ordinal);
        Assert.Equal($"3 signed checkpoints verified; the latest, at seq 12, signs seq 11 with key {_key.Kid}", lines[1]);
        Assert.StartsWith("checkpoint of seq 7 holds: the log has the signed hash at seq 7; signed at 2026-03-01T12:00:06.000Z with key ", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_log_truncated_behind_an_exported_checkpoint_verifies_as_a_chain_but_fails_the_checkpoint_with_exit_1()
    {
        await FillAsync(7, everyEvents: 3);
        Assert.Equal(0, (await RunAsync("audit", "checkpoint", "export", "--config", _configPath, "--out", _filePath)).Exit);
        ChangeRows("DELETE FROM audit_events WHERE seq > 5");

        var (exit, stdout, stderr) = await RunAsync("audit", "verify", "--config", _configPath, "--checkpoint", _filePath);

        Assert.Equal(1, exit);
        Assert.StartsWith("audit chain intact: 5 events verified", stdout, StringComparison.Ordinal);
        Assert.Equal("checkpoint of seq 7: the log ends at seq 5, before the checkpoint's seq 7: it was truncated behind the checkpoint\n", stderr);

        // Without the file the same log passes: a truncated end leaves a valid chain.
        Assert.Equal(0, (await RunAsync("audit", "verify", "--config", _configPath)).Exit);
    }

    [Fact]
    public async Task Exporting_to_standard_output_writes_the_file_itself()
    {
        await FillAsync(3, everyEvents: 3);

        var (exit, stdout, _) = await RunAsync("audit", "checkpoint", "export", "--config", _configPath);

        Assert.Equal(0, exit);
        var file = AuditCheckpointFile.Parse(Encoding.UTF8.GetBytes(stdout), out var problem);
        Assert.Null(problem);
        Assert.Equal(3, Assert.Single(file!.Checkpoints).Checkpoint.Seq);
    }

    [Fact]
    public async Task Exporting_from_a_log_without_a_checkpoint_exits_1_saying_when_one_comes()
    {
        await FillAsync(2, everyEvents: 3);

        var (exit, stdout, stderr) = await RunAsync("audit", "checkpoint", "export", "--config", _configPath, "--out", _filePath);

        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.Equal("no checkpoint in the audit log yet: one is cut every audit.checkpoint.every_events events, or audit.checkpoint.every after events came\n", stderr);
        Assert.False(File.Exists(_filePath));
    }

    [Fact]
    public async Task Exporting_from_a_broken_chain_exits_1_and_writes_nothing()
    {
        await FillAsync(4, everyEvents: 3);
        ChangeRows("DELETE FROM audit_events WHERE seq = 2");

        var (exit, _, stderr) = await RunAsync("audit", "checkpoint", "export", "--config", _configPath, "--out", _filePath);

        Assert.Equal(1, exit);
        Assert.Equal("audit chain broken at seq 2: event missing (next stored event is seq 3); no checkpoint exported\n", stderr);
        Assert.False(File.Exists(_filePath));
    }

    [Fact]
    public async Task A_checkpoint_file_that_is_not_one_is_refused_with_exit_1_before_the_log_is_read()
    {
        await File.WriteAllTextAsync(_filePath, "{\"keys\": []}", TestContext.Current.CancellationToken);

        var (exit, stdout, stderr) = await RunAsync("audit", "verify", "--config", _configPath, "--checkpoint", _filePath);

        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.Equal($"checkpoint file {_filePath} refused: is not a tessera-audit-checkpoints file of version 1\n", stderr);
    }

    /// <summary>Appends <paramref name="count"/> events through the audit writer, which cuts a checkpoint every <paramref name="everyEvents"/>.</summary>
    private async Task FillAsync(int count, int everyEvents)
    {
        await using var store = new SqliteTesseraStore(_dbPath);
        await store.MigrateAsync(TestContext.Current.CancellationToken);
        var checkpointer = new AuditCheckpointer(new AuditCheckpointOptions(true, everyEvents, TimeSpan.FromHours(1)));
        checkpointer.SignWith(_ => _key);
        await using var log = new AuditLog(store.Audit, _time, NullLogger<AuditLog>.Instance, checkpointer);
        await log.StartAsync(TestContext.Current.CancellationToken);
        for (var i = 1; i <= count; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await log.AppendAsync(new AuditRecord
            {
                Type = AuditTypes.TokenIssued,
                Outcome = AuditOutcomes.Allowed,
                Agent = "support-agent",
                Jti = $"jti-{i}",
            }, cancellationToken: TestContext.Current.CancellationToken);
        }
    }

    private void ChangeRows(string sql)
    {
        using var raw = new SqliteConnection($"Data Source={_dbPath};Pooling=False");
        raw.Open();
        using var command = raw.CreateCommand();
        command.CommandText = sql;
        Assert.True(command.ExecuteNonQuery() > 0);
    }

    private static Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args) => TesseraCli.RunAsync(args);
}
