namespace Tessera.Benchmarks;

/// <summary>
/// <see cref="ClientAuthenticator.AuthenticateAsync"/> with <c>client_secret_basic</c>: one SHA-256
/// of the presented secret and a fixed-time compare. The unknown client is compared against a decoy
/// hash, so all three cases should cost about the same.
/// </summary>
[MemoryDiagnoser]
public class ClientSecretBenchmarks
{
    private string _directory = null!;
    private ClientAuthenticator _authenticator = null!;
    private ClientAuthenticationAttempt _valid = null!;
    private ClientAuthenticationAttempt _wrongSecret = null!;
    private ClientAuthenticationAttempt _unknownClient = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = BenchConfig.NewDirectory();
        var config = BenchConfig.Load(_directory);
        var time = TimeProvider.System;
        var live = LiveConfig.Of(config, time);
        _authenticator = new ClientAuthenticator(live, new ClientAssertionValidator(live, new MemoryReplayCache(time), time, config.Server.Issuer), time);
        _valid = new ClientAuthenticationAttempt(ClientAuthMethods.ClientSecretBasic, "researcher", BenchConfig.Secret, null);
        _wrongSecret = new ClientAuthenticationAttempt(ClientAuthMethods.ClientSecretBasic, "researcher", "bench-secret-0123456789abcdefghiX", null);
        _unknownClient = new ClientAuthenticationAttempt(ClientAuthMethods.ClientSecretBasic, "nobody", BenchConfig.Secret, null);
    }

    [Benchmark(Baseline = true)]
    public ValueTask<ClientAuthentication> ValidSecret() => _authenticator.AuthenticateAsync(_valid, CancellationToken.None);

    [Benchmark]
    public ValueTask<ClientAuthentication> WrongSecret() => _authenticator.AuthenticateAsync(_wrongSecret, CancellationToken.None);

    [Benchmark]
    public ValueTask<ClientAuthentication> UnknownClient() => _authenticator.AuthenticateAsync(_unknownClient, CancellationToken.None);

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);
}
