using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Tessera.Core.Approvals;
using Tessera.Core.Audit;
using Tessera.Core.Cluster;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Revocation;
using Tessera.Core.Tokens;
using Tessera.Core.Vault;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>
/// One node of an installation, as <c>tessera serve</c> composes it on PostgreSQL, without HTTP: its
/// store, audit log, in-memory state and the <see cref="ClusterSync"/> loop that keeps that state
/// current with the other nodes on the same database.
/// </summary>
internal sealed class ClusterNode : IAsyncDisposable
{
    private static readonly TesseraConfig Config = ConfigLoader.Load("tools: []\n", "tessera.yaml", Path.GetTempPath());

    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    private ClusterNode(string connectionString, string nodeId, TimeProvider time, MasterKey masterKey, TimeSpan maxStaleness)
    {
        Store = new PostgresTesseraStore(connectionString, nodeId);
        Log = new AuditLog(Store.Audit, time, NullLogger<AuditLog>.Instance);
        Keys = new SigningKeyService(Store.SigningKeys, masterKey, Log, Config, time);
        Suspended = new SuspendedAgents(Store.AgentStates, Log, time);
        Vault = new SecretVault(Store.Secrets, masterKey, Log, LiveConfig.Of(Config, time), time);
        Approvals = new ApprovalService(Store.Approvals, Log, Keys, Revocations, NoApprovalNotifier.Instance, LiveConfig.Of(Config, time), time);
        Revoker = new RevocationService(Revocations, Store.Revocations, Store.Audit, Store.Missions, Log, Config, time);
        Freshness = new ClusterFreshness(time, maxStaleness, shared: true);
        Sync = new ClusterSync(Store.Changes, new ClusterChangeApplier(Revocations, Suspended, Keys, Vault, Approvals), Freshness, time);
    }

    public PostgresTesseraStore Store { get; }

    public AuditLog Log { get; }

    public RevocationIndex Revocations { get; } = new();

    public RevocationService Revoker { get; }

    public SigningKeyService Keys { get; }

    public SuspendedAgents Suspended { get; }

    public SecretVault Vault { get; }

    public ApprovalService Approvals { get; }

    public ClusterFreshness Freshness { get; }

    public ClusterSync Sync { get; }

    /// <summary>Every failure of the loop, in order (a killed listener shows up here).</summary>
    public List<Exception> Failures { get; } = [];

    /// <summary>Starts a node as serve does: migrate, note the log's head, load, catch up, then follow the log in the background.</summary>
    /// <param name="follow">False to leave the loop to the test, which then drives <see cref="Sync"/> and the feed itself.</param>
    public static async Task<ClusterNode> StartAsync(string connectionString, string nodeId, TimeProvider time, MasterKey masterKey, TimeSpan maxStaleness,
        CancellationToken cancellationToken, bool follow = true)
    {
        var node = new ClusterNode(connectionString, nodeId, time, masterKey, maxStaleness);
        await node.Store.MigrateAsync(cancellationToken);
        await node.Log.StartAsync(cancellationToken);
        await node.Sync.StartAsync(cancellationToken);
        await node.Keys.InitializeAsync(cancellationToken);
        await node.Revoker.LoadAsync(cancellationToken);
        await node.Suspended.LoadAsync(cancellationToken);
        await node.Vault.LoadAsync(cancellationToken);
        await node.Approvals.LoadAsync(cancellationToken);
        await node.Sync.CatchUpAsync(cancellationToken);
        node.Sync.Failed += (ex, _) =>
        {
            lock (node.Failures)
            {
                node.Failures.Add(ex);
            }
        };
        if (follow)
        {
            node._loop = Task.Run(() => node.Sync.RunAsync(node._stop.Token), CancellationToken.None);
        }

        return node;
    }

    /// <summary>
    /// Completes when <paramref name="condition"/> holds, checked now and after each change the loop
    /// applies; fails with <paramref name="what"/> after a bound far above any propagation time.
    /// </summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var met = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check(Core.Storage.ClusterChange _)
        {
            if (condition())
            {
                met.TrySetResult();
            }
        }

        Sync.ChangeApplied += Check;
        try
        {
            Check(null!);
            var done = await Task.WhenAny(met.Task, Task.Delay(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
            Assert.True(done == met.Task, $"not within 30 s: {what}");
        }
        finally
        {
            Sync.ChangeApplied -= Check;
        }
    }

    /// <summary>A master key shared by the nodes of one test, as an installation shares one.</summary>
    public static MasterKey NewMasterKey() => new(RandomNumberGenerator.GetBytes(32));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
        await Log.DisposeAsync();
        Keys.Dispose();
        Vault.Dispose();
        await Store.DisposeAsync();
    }
}
