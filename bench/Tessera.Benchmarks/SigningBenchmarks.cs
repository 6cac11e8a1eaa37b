namespace Tessera.Benchmarks;

/// <summary>The floor under issuance: one ES256 signature over a typical access token; and an audit checkpoint, cut once every N events.</summary>
[MemoryDiagnoser]
public class SigningBenchmarks
{
    private readonly SigningKey _key = SigningKey.Generate(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);
    private readonly AccessTokenClaims _claims = new()
    {
        Issuer = "http://127.0.0.1:8080",
        Subject = "bench-agent",
        Audience = "urn:tessera:tool:crm",
        ClientId = "bench-agent",
        Scope = ScopeSet.Parse("crm:read"),
        Jti = "AbMxXR37i8h2-5cJ6XiR2A",
        IssuedAt = 1_795_921_219,
        ExpiresAt = 1_795_921_819,
    };

    private readonly AuditCheckpoint _checkpoint = new("node-a", 1_000_000, new string('a', 64), DateTimeOffset.UnixEpoch);

    [Benchmark]
    public string SignAccessToken() => JwtSigner.Sign(_key, _claims);

    [Benchmark]
    public string SignAuditCheckpoint() => _checkpoint.Sign(_key);
}
