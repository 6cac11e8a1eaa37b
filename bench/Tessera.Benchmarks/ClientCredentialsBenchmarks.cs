using Tessera.Core.Tools;
using Tessera.Storage.Sqlite;

namespace Tessera.Benchmarks;

/// <summary>
/// client_credentials issuance through <see cref="TokenService"/>: client_secret_basic verification,
/// scope algebra, ES256 signing and the audit append. <c>Memory</c> isolates CPU; <c>Sqlite</c> waits
/// for a durable group commit like the server does (one caller at a time here, so no batching).
/// </summary>
[MemoryDiagnoser]
public class ClientCredentialsBenchmarks
{
    private TokenService _memory = null!;
    private TokenService _sqlite = null!;
    private TokenRequest _request = null!;
    private AuditLog _memoryLog = null!;
    private AuditLog _sqliteLog = null!;
    private SqliteTesseraStore _store = null!;
    private string _directory = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = BenchConfig.NewDirectory();
        var config = ConfigLoader.Load($$"""
            server: { listen: "http://127.0.0.1:8080" }
            storage: sqlite:bench.db
            tools:
              - id: crm
                scopes: { read: { rules: [ "GET /contacts/**" ] } }
            agents:
              - id: bench-agent
                owner: bench@example.com
                purpose: benchmark
                expires: {{TimeProvider.System.GetUtcNow().AddMonths(6):yyyy-MM-dd}}
                auth: { client_secret_sha256: {{BenchConfig.SecretSha256}} }
                allowed_scopes: [ "crm:read" ]
            """, "bench.yaml", _directory);
        _request = new TokenRequest(
            new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "crm:read" },
            [], [], new ClientAuthenticationAttempt(ClientAuthMethods.ClientSecretBasic, "bench-agent", BenchConfig.Secret, null), "bench");

        (_memory, _memoryLog) = await CreateAsync(config, new NullAuditStore(), new NullSigningKeyStore());
        _store = SqliteTesseraStore.FromLocation(config.Storage);
        await _store.MigrateAsync(CancellationToken.None);
        (_sqlite, _sqliteLog) = await CreateAsync(config, _store.Audit, _store.SigningKeys);
    }

    private static async Task<(TokenService, AuditLog)> CreateAsync(TesseraConfig config, IAuditStore auditStore, ISigningKeyStore keyStore)
    {
        var time = TimeProvider.System;
        var audit = new AuditLog(auditStore, time, NullLogger<AuditLog>.Instance);
        await audit.StartAsync(CancellationToken.None);
        var masterKey = new MasterKey(RandomNumberGenerator.GetBytes(32));
        var keys = new SigningKeyService(keyStore, masterKey, audit, config, time);
        await keys.InitializeAsync(CancellationToken.None);
        var live = LiveConfig.Of(config, time);
        var authenticator = new ClientAuthenticator(live, new ClientAssertionValidator(live, new MemoryReplayCache(time), time, config.Server.Issuer), time);
        var validator = new AccessTokenValidator(keys, new RevocationIndex(), live, time);
        var dpop = new Core.Dpop.DpopProofValidator(new MemoryReplayCache(time), new Core.Dpop.DpopNonces(masterKey, time), config, time);
        var approvals = new Core.Approvals.ApprovalService(new NullApprovalStore(), audit, keys, new RevocationIndex(), Core.Approvals.NoApprovalNotifier.Instance, live, time);
        return (new TokenService(authenticator, live, keys, audit, validator, dpop, approvals, time), audit);
    }

    [Benchmark(Baseline = true)]
    public async Task<string> Memory() => (await _memory.HandleAsync(_request, CancellationToken.None)).Value!.AccessToken;

    [Benchmark]
    public async Task<string> Sqlite() => (await _sqlite.HandleAsync(_request, CancellationToken.None)).Value!.AccessToken;

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _memoryLog.DisposeAsync();
        await _sqliteLog.DisposeAsync();
        await _store.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
