namespace Tessera.Benchmarks;

/// <summary>
/// <see cref="AccessTokenValidator.ValidateAsync"/> on a valid delegated tool token (two actors, a
/// mission, a two-id lineage), against a revocation index holding 10,000 other ids. <c>Cold</c>: a
/// token this validator has never seen (signature verified). <c>Warm</c>: the same token again, so
/// whatever the validator remembers about a token it already verified applies.
/// </summary>
/// <remarks>
/// The validator remembers verified tokens, so cycling through a pool would turn "cold" warm after
/// one lap. Each iteration therefore runs exactly <see cref="PoolSize"/> invocations and <c>Cold</c>
/// gets a fresh validator before each iteration: every <c>Cold</c> call sees a token new to it.
/// </remarks>
[MemoryDiagnoser]
[InvocationCount(PoolSize)]
public class TokenValidationBenchmarks
{
    private const int PoolSize = 16_384;

    private string _directory = null!;
    private TesseraConfig _config = null!;
    private AuditLog _audit = null!;
    private SigningKeyService _keys = null!;
    private RevocationIndex _revocations = null!;
    private AccessTokenValidator _validator = null!;
    private string[] _tokens = null!;
    private string _warmToken = null!;
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = BenchConfig.NewDirectory();
        _config = BenchConfig.Load(_directory);
        var time = TimeProvider.System;
        _audit = new AuditLog(new NullAuditStore(), time, NullLogger<AuditLog>.Instance);
        await _audit.StartAsync(CancellationToken.None);
        _keys = new SigningKeyService(new NullSigningKeyStore(), new MasterKey(RandomNumberGenerator.GetBytes(32)), _audit, _config, time);
        await _keys.InitializeAsync(CancellationToken.None);

        _revocations = new RevocationIndex();
        var now = time.GetUtcNow();
        for (var i = 0; i < 10_000; i++)
        {
            _revocations.Apply(new RevocationEntry(RevocationKind.Token, TokenService.NewId(), now, now.AddHours(1)));
        }

        var key = _keys.Current();
        var mission = "m_" + TokenService.NewId();
        var parent = TokenService.NewId();
        _tokens = new string[PoolSize];
        for (var i = 0; i < PoolSize; i++)
        {
            _tokens[i] = JwtSigner.Sign(key, new AccessTokenClaims
            {
                Issuer = _config.Server.Issuer,
                Subject = "alice@example.com",
                Audience = "urn:tessera:tool:crm",
                ClientId = "researcher",
                Scope = ScopeSet.Parse("crm:read"),
                Jti = TokenService.NewId(),
                IssuedAt = now.ToUnixTimeSeconds(),
                ExpiresAt = now.AddHours(2).ToUnixTimeSeconds(),
                ActorChain = ["planner", "researcher"],
                Mission = mission,
                Purpose = "quarterly account review",
                Idp = "corp",
                Lineage = [mission, parent],
            });
        }

        _warmToken = _tokens[0];
        _validator = new AccessTokenValidator(_keys, _revocations, LiveConfig.Of(_config, time), time);
        var check = await _validator.ValidateAsync(_warmToken, CancellationToken.None);
        if (check.Status != TokenStatus.Active)
        {
            throw new InvalidOperationException($"benchmark token is not valid: {check.Status} {check.Reason}");
        }
    }

    [IterationSetup(Target = nameof(Cold))]
    public void FreshValidator()
    {
        _validator = new AccessTokenValidator(_keys, _revocations, LiveConfig.Of(_config, TimeProvider.System), TimeProvider.System);
        _next = 0;
    }

    [Benchmark]
    public Task<TokenValidation> Cold() => _validator.ValidateAsync(_tokens[_next++ % PoolSize], CancellationToken.None);

    [Benchmark]
    public Task<TokenValidation> Warm() => _validator.ValidateAsync(_warmToken, CancellationToken.None);

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _audit.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
