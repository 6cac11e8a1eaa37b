using Tessera.Storage.Sqlite;

namespace Tessera.Benchmarks;

/// <summary>
/// The audit log on a real SQLite file (WAL, <c>synchronous=FULL</c>). <c>Append64</c>: 64 callers
/// append at once and wait for durability, so the single writer group-commits them; the figure is
/// per event. <c>Verify100k</c>: <see cref="AuditVerifier.VerifyAsync"/> re-hashes, re-links and
/// checks the queryable columns of a chain of 100,000 events read back from the file; the figure is
/// per event.
/// </summary>
[MemoryDiagnoser]
public class AuditBenchmarks
{
    private const int Appenders = 64;
    private const int VerifiedEvents = 100_000;

    private readonly Task<AuditEvent>[] _pending = new Task<AuditEvent>[Appenders];
    private string _directory = null!;
    private SqliteTesseraStore _store = null!;
    private AuditLog? _log;
    private AuditRecord[] _records = null!;

    [GlobalSetup(Target = nameof(Append64))]
    public async Task SetupAppendAsync()
    {
        await OpenStoreAsync();
        _records = MakeRecords(Appenders);
        _log = new AuditLog(_store.Audit, TimeProvider.System, NullLogger<AuditLog>.Instance);
        await _log.StartAsync(CancellationToken.None);
    }

    [GlobalSetup(Target = nameof(Verify100k))]
    public async Task SetupVerifyAsync()
    {
        await OpenStoreAsync();
        _records = MakeRecords(1000);
        await using (var log = new AuditLog(_store.Audit, TimeProvider.System, NullLogger<AuditLog>.Instance))
        {
            await log.StartAsync(CancellationToken.None);
            var batch = new Task[_records.Length];
            for (var written = 0; written < VerifiedEvents; written += batch.Length)
            {
                for (var i = 0; i < batch.Length; i++)
                {
                    batch[i] = log.AppendAsync(_records[i]);
                }

                await Task.WhenAll(batch);
            }
        }

        var check = await AuditVerifier.VerifyAsync(_store.Audit, CancellationToken.None);
        if (!check.IsIntact || check.VerifiedCount != VerifiedEvents)
        {
            throw new InvalidOperationException($"audit chain not as expected: intact={check.IsIntact}, count={check.VerifiedCount}, {check.Problem}");
        }

        Console.WriteLine($"audit database with {VerifiedEvents:N0} events: {new FileInfo(_store.Path).Length + WalLength():N0} bytes");
    }

    [Benchmark(OperationsPerInvoke = Appenders)]
    public async Task Append64()
    {
        for (var i = 0; i < Appenders; i++)
        {
            _pending[i] = _log!.AppendAsync(_records[i]);
        }

        await Task.WhenAll(_pending);
    }

    [Benchmark(OperationsPerInvoke = VerifiedEvents)]
    public Task<AuditVerification> Verify100k() => AuditVerifier.VerifyAsync(_store.Audit, CancellationToken.None);

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_log is not null)
        {
            await _log.DisposeAsync();
        }

        await _store.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task OpenStoreAsync()
    {
        _directory = BenchConfig.NewDirectory();
        _store = new SqliteTesseraStore(Path.Combine(_directory, "audit.db"));
        await _store.MigrateAsync(CancellationToken.None);
    }

    private long WalLength() => new FileInfo(_store.Path + "-wal") is { Exists: true } wal ? wal.Length : 0;

    /// <summary>Token exchanges as the server records them: a mission, two actors, scopes, a jti each.</summary>
    private static AuditRecord[] MakeRecords(int count)
    {
        var records = new AuditRecord[count];
        var mission = "m_" + TokenService.NewId();
        for (var i = 0; i < count; i++)
        {
            var parent = TokenService.NewId();
            records[i] = new AuditRecord
            {
                Type = AuditTypes.TokenExchanged,
                Outcome = AuditOutcomes.Allowed,
                Principal = "alice@example.com",
                Agent = "researcher",
                ActorChain = ["planner", "researcher"],
                Mission = mission,
                Purpose = "quarterly account review",
                Tool = "crm",
                Scopes = ["crm:read"],
                Jti = TokenService.NewId(),
                Reason = $"tool token at depth 2, from {parent}",
                RequestId = Guid.NewGuid().ToString("N"),
            };
        }

        return records;
    }
}
