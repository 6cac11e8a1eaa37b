using System.Runtime.CompilerServices;
using Tessera.Core.Tokens;

namespace Tessera.Benchmarks;

/// <summary>
/// What reloadable configuration adds to every request (docs/performance.md, "Configuration
/// reload"). <c>Request</c> / <c>PinnedRequest</c>: a request's pipeline that completes
/// asynchronously (as a proxied call or a token's durable commit does), reading the configuration
/// once, without and with the middleware of TesseraHost that pins it first (an async layer that
/// sets an AsyncLocal). <c>Narrow*</c>: <see cref="ConfigSnapshot.Narrow"/>, which every token validation
/// calls, on a client_credentials token with one scope and on a delegated token with two actors.
/// </summary>
[MemoryDiagnoser]
public class LiveConfigBenchmarks
{
    private string _directory = null!;
    private LiveConfig _live = null!;
    private AccessTokenClaims _direct = null!;
    private AccessTokenClaims _delegated = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = BenchConfig.NewDirectory();
        _live = LiveConfig.Of(BenchConfig.Load(_directory), TimeProvider.System);
        _direct = new AccessTokenClaims
        {
            Issuer = "http://127.0.0.1:8080",
            Subject = "bench-agent",
            Audience = "urn:tessera:tool:crm",
            ClientId = "bench-agent",
            Scope = ScopeSet.Parse("crm:read"),
            Jti = TokenService.NewId(),
            IssuedAt = 0,
            ExpiresAt = long.MaxValue,
        };
        _delegated = _direct with
        {
            Subject = "alice@example.com",
            ClientId = "researcher",
            Scope = ScopeSet.Parse("crm:read crm:write"),
            ActorChain = ["planner", "researcher"],
            Idp = "corp",
        };
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    [Benchmark(Baseline = true)]
    public Task<ConfigSnapshot> Request() => HandleAsync();

    [Benchmark]
    public async Task<ConfigSnapshot> PinnedRequest()
    {
        // As TesseraHost's middleware: pin, then the rest of the pipeline.
        _live.Pin();
        return await HandleAsync();
    }

    [Benchmark]
    public AccessTokenClaims NarrowDirect() => _live.Current.Narrow(_direct);

    [Benchmark]
    public AccessTokenClaims NarrowDelegated() => _live.Current.Narrow(_delegated);

    private async Task<ConfigSnapshot> HandleAsync()
    {
        await new Suspend();
        return _live.Current;
    }

    /// <summary>
    /// An await that always suspends and resumes at once on the same thread: the async machinery of a
    /// request that completes asynchronously (boxed state machines, the execution context captured
    /// and restored), without a thread-pool hop whose cost would hide it.
    /// </summary>
    private readonly struct Suspend : ICriticalNotifyCompletion
    {
        public bool IsCompleted => false;

        public Suspend GetAwaiter() => this;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) => continuation();

        public void UnsafeOnCompleted(Action continuation) => continuation();
    }
}
