using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Tessera.Core.Approvals;
using Tessera.Core.Audit;
using Tessera.Core.Cluster;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;
using Tessera.Core.Vault;
using Tessera.Storage.Postgres;

/// <summary>
/// A node that only listens: its own store (pool and listener connection), its RevocationIndex and
/// its ClusterSync loop, as StartupService composes them; it reports when the awaited revocation is applied.
/// </summary>
internal sealed class Follower : IAsyncDisposable
{
    private readonly PostgresTesseraStore _store;
    private readonly AuditLog _log;
    private readonly SigningKeyService _keys;
    private readonly SecretVault _vault;
    private Task _loop = Task.CompletedTask;
    private TaskCompletionSource<long> _applied = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _expected;

    private Follower(PostgresTesseraStore store, AuditLog log, SigningKeyService keys, SecretVault vault, string name)
    {
        _store = store;
        _log = log;
        _keys = keys;
        _vault = vault;
        Name = name;
    }

    public string Name { get; }

    /// <summary>Completes with the Stopwatch timestamp at which the expected revocation was applied.</summary>
    public Task<long> Applied => _applied.Task;

    public static async Task<Follower> StartAsync(string connectionString, string name, MasterKey masterKey, TesseraConfig config, TimeProvider time, CancellationToken stop)
    {
        var store = new PostgresTesseraStore(connectionString, name);
        var log = new AuditLog(store.Audit, time, NullLogger<AuditLog>.Instance);
        var index = new RevocationIndex();
        var keys = new SigningKeyService(store.SigningKeys, masterKey, log, config, time);
        var vault = new SecretVault(store.Secrets, masterKey, log, LiveConfig.Of(config, time), time);
        var follower = new Follower(store, log, keys, vault, name);
        var applier = new ClusterChangeApplier(index, new SuspendedAgents(store.AgentStates, log, time), keys, vault,
            new ApprovalService(store.Approvals, log, keys, index, NoApprovalNotifier.Instance, LiveConfig.Of(config, time), time));
        var sync = new ClusterSync(store.Changes, applier, new ClusterFreshness(time, config.Cluster.MaxStaleness, shared: true), time);
        await sync.StartAsync(CancellationToken.None);
        await sync.CatchUpAsync(CancellationToken.None);
        sync.ChangeApplied += change =>
        {
            var now = Stopwatch.GetTimestamp();
            if (Volatile.Read(ref follower._expected) is { } expected && change.Kind == ClusterChangeKind.Revocation && change.Revocation().Id == expected)
            {
                follower._applied.TrySetResult(now);
            }
        };
        follower._loop = Task.Run(() => sync.RunAsync(stop), CancellationToken.None);
        return follower;
    }

    /// <summary>Waits for <paramref name="id"/> next (one revocation at a time).</summary>
    public void Expect(string id)
    {
        _applied = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _expected, id);
    }

    public async ValueTask DisposeAsync()
    {
        await _loop;
        _keys.Dispose();
        _vault.Dispose();
        await _log.DisposeAsync();
        await _store.DisposeAsync();
    }
}
