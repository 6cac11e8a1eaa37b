namespace Tessera.Benchmarks;

/// <summary>
/// <see cref="RevocationIndex.IsRevoked"/> against an index of 1,000,000 revoked token ids, the
/// check every validation and proxied call makes. Setup also prints the retained memory per revoked
/// id (GC.GetTotalMemory before and after loading the million entries).
/// </summary>
[MemoryDiagnoser]
public class RevocationIndexBenchmarks
{
    private const int RevokedCount = 1_000_000;

    private RevocationIndex _index = null!;
    private string _liveJti = null!;
    private string[] _liveLineage = null!;
    private string _revokedJti = null!;
    private string[] _agents = null!;
    private long _issuedAt;

    [GlobalSetup]
    public void Setup()
    {
        var now = TimeProvider.System.GetUtcNow();
        var expires = now.AddHours(1);
        // Each id string is garbage once applied (the index keeps 128-bit keys), so the forced
        // collection before reading "after" counts only what the index retains.
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var index = new RevocationIndex();
        for (var i = 0; i < RevokedCount; i++)
        {
            var id = TokenService.NewId();
            if (i == RevokedCount / 2)
            {
                _revokedJti = id;
            }

            index.Apply(new RevocationEntry(RevocationKind.Token, id, now, expires));
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(index);
        _index = index;
        var perId = (after - before) / (double)RevokedCount;
        Console.WriteLine($"bytes per revoked id: {perId:F1} ({after - before:N0} bytes retained for {RevokedCount:N0} ids, index count {index.Count:N0})");

        _liveJti = TokenService.NewId();
        _liveLineage = ["m_" + TokenService.NewId(), TokenService.NewId(), TokenService.NewId()];
        _agents = ["researcher", "planner"];
        _issuedAt = now.ToUnixTimeSeconds();
    }

    /// <summary>The common case: the jti and all three lineage ids are looked up and none is found.</summary>
    [Benchmark(Baseline = true)]
    public bool NotRevoked_Lineage3() => _index.IsRevoked(_liveJti, _liveLineage, "alice@example.com", _agents, _issuedAt);

    /// <summary>The token's own jti is revoked: found on the first lookup.</summary>
    [Benchmark]
    public bool Revoked() => _index.IsRevoked(_revokedJti, _liveLineage, "alice@example.com", _agents, _issuedAt);
}
