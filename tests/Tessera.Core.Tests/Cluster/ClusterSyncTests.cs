using Tessera.Core.Cluster;
using Tessera.Core.Tests.Identity;
using Tessera.Core.Tests.Vault;

namespace Tessera.Core.Tests.Cluster;

public sealed class ClusterSyncTests : IAsyncDisposable
{
    private static readonly TimeSpan MaxStaleness = TimeSpan.FromSeconds(1);
    private readonly CoreHarness _core = new();
    private readonly TesseraConfig _config = ConfigLoader.Load("tools: []\n", "tessera.yaml", Path.GetTempPath());
    private readonly MemoryChangeFeed _feed = new();
    private readonly RevocationIndex _revocations = new();
    private SecretVault? _vault;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(ClusterSync Sync, ClusterFreshness Freshness)> StartAsync()
    {
        await _core.StartAsync(_config, initializeKeys: false, Ct);
        _vault = new SecretVault(new MemorySecretStore(_core.AuditStore), _core.MasterKey, _core.Log, LiveConfig.Of(_config, _core.Time), _core.Time);
        var applier = new ClusterChangeApplier(_revocations, new SuspendedAgents(new MemoryAgentStateStore(_core.AuditStore), _core.Log, _core.Time), _core.Keys, _vault,
            new ApprovalService(new NoApprovals(), _core.Log, _core.Keys, _revocations, NoApprovalNotifier.Instance, LiveConfig.Of(_config, _core.Time), _core.Time));
        var freshness = new ClusterFreshness(_core.Time, MaxStaleness, shared: true);
        return (new ClusterSync(_feed, applier, freshness, _core.Time), freshness);
    }

    private RevocationEntry Revoke(string mission) => new(RevocationKind.Mission, mission, _core.Time.GetUtcNow(), _core.Time.GetUtcNow().AddHours(1));

    [Fact]
    public async Task Only_entries_after_the_head_noted_at_start_are_applied_in_order_and_the_node_is_current_from_the_read()
    {
        _feed.Announce(Revoke("loaded-at-start"));
        var (sync, freshness) = await StartAsync();
        await sync.StartAsync(Ct);
        _feed.Announce(Revoke("m-1"));
        _feed.Announce(Revoke("m-2"));
        Assert.False(freshness.IsCurrent);

        await sync.CatchUpAsync(Ct);

        Assert.False(_revocations.IsIdRevoked("loaded-at-start")); // the node loaded it from the store, not the log
        Assert.True(_revocations.IsIdRevoked("m-1"));
        Assert.True(_revocations.IsIdRevoked("m-2"));
        Assert.Equal(3, sync.LastApplied);
        Assert.True(freshness.IsCurrent);
        _core.Time.Advance(MaxStaleness + TimeSpan.FromMilliseconds(1));
        Assert.False(freshness.IsCurrent);
    }

    [Fact]
    public async Task An_entry_that_cannot_be_applied_stops_the_node_before_it_and_leaves_it_stale()
    {
        var (sync, freshness) = await StartAsync();
        await sync.StartAsync(Ct);
        _feed.Announce(Revoke("m-1"));
        _feed.Append((ClusterChangeKind)99, "from a newer build");
        _feed.Announce(Revoke("m-3"));

        await Assert.ThrowsAsync<NotSupportedException>(() => sync.CatchUpAsync(Ct));

        Assert.Equal(1, sync.LastApplied);
        Assert.True(_revocations.IsIdRevoked("m-1"));
        Assert.False(_revocations.IsIdRevoked("m-3"));
        Assert.False(freshness.IsCurrent);
    }

    [Fact]
    public async Task Catching_up_before_start_is_refused()
    {
        var (sync, _) = await StartAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => sync.CatchUpAsync(Ct));
    }

    [Fact]
    public async Task The_heartbeat_is_a_quarter_of_max_staleness()
    {
        var (sync, _) = await StartAsync();

        Assert.Equal(TimeSpan.FromMilliseconds(250), sync.Heartbeat);
    }

    public async ValueTask DisposeAsync()
    {
        _vault?.Dispose();
        await _core.DisposeAsync();
    }

    private sealed class NoApprovals : IApprovalStore
    {
        public Task<IReadOnlyList<ApprovalRequest>> LoadAsync(DateTimeOffset since, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<ApprovalRequest>>([]);

        public Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken) => Task.FromResult(0);
    }
}
