using Tessera.Core.Cluster;
using Tessera.Core.Tests.Identity;
using Tessera.Core.Tests.Vault;

namespace Tessera.Core.Tests.Cluster;

/// <summary>
/// Applying another node's change: two nodes here share one audit store, whose committed state
/// changes the memory stores read back as a shared database would hold them.
/// </summary>
public sealed class ClusterChangeApplierTests : IAsyncDisposable
{
    private readonly CoreHarness _core = new();
    private readonly TesseraConfig _config = ConfigLoader.Load("tools: []\n", "tessera.yaml", Path.GetTempPath());
    private readonly List<IDisposable> _owned = [];
    private readonly StoredApprovals _approvals = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>One node's in-memory state on the shared audit store, and the applier that updates it.</summary>
    private (ClusterChangeApplier Applier, RevocationIndex Revocations, SuspendedAgents Suspended, SecretVault Vault, ApprovalService Approvals) Node()
    {
        var revocations = new RevocationIndex();
        var suspended = new SuspendedAgents(new MemoryAgentStateStore(_core.AuditStore), _core.Log, _core.Time);
        var vault = new SecretVault(new MemorySecretStore(_core.AuditStore), _core.MasterKey, _core.Log, LiveConfig.Of(_config, _core.Time), _core.Time);
        _owned.Add(vault);
        var approvals = new ApprovalService(_approvals, _core.Log, _core.Keys, revocations, NoApprovalNotifier.Instance, LiveConfig.Of(_config, _core.Time), _core.Time);
        return (new ClusterChangeApplier(revocations, suspended, _core.Keys, vault, approvals), revocations, suspended, vault, approvals);
    }

    [Fact]
    public async Task A_revocation_is_applied_from_the_entry_itself()
    {
        await _core.StartAsync(_config, initializeKeys: false, Ct);
        var node = Node();
        var entry = new RevocationEntry(RevocationKind.Mission, "m-1", _core.Time.GetUtcNow(), _core.Time.GetUtcNow().AddHours(1));

        await node.Applier.ApplyAsync(ClusterChange.Announcing(entry)! with { Id = 1 }, Ct);

        Assert.True(node.Revocations.IsIdRevoked("m-1"));
    }

    [Fact]
    public async Task A_suspension_and_a_resumption_by_another_node_are_read_back_from_the_store()
    {
        await _core.StartAsync(_config, initializeKeys: false, Ct);
        var writer = Node();
        var reader = Node();

        await writer.Suspended.SetAsync("agent-1", suspended: true, "admin", null, Ct);
        await reader.Applier.ApplyAsync(new ClusterChange(1, ClusterChangeKind.Suspension, "agent-1"), Ct);
        Assert.True(reader.Suspended.IsSuspended("agent-1"));

        await writer.Suspended.SetAsync("agent-1", suspended: false, "admin", null, Ct);
        await reader.Applier.ApplyAsync(new ClusterChange(2, ClusterChangeKind.Suspension, "agent-1"), Ct);
        Assert.False(reader.Suspended.IsSuspended("agent-1"));
    }

    [Fact]
    public async Task A_secret_stored_by_another_node_is_read_back_into_the_vault()
    {
        await _core.StartAsync(_config, initializeKeys: false, Ct);
        var writer = Node();
        var reader = Node();
        await reader.Vault.LoadAsync(Ct);

        await writer.Vault.PutAsync("crm-token", "v1"u8.ToArray(), "admin", null, Ct);
        Assert.Empty(reader.Vault.List());
        await reader.Applier.ApplyAsync(new ClusterChange(1, ClusterChangeKind.Vault, "crm-token"), Ct);

        Assert.Equal("crm-token", Assert.Single(reader.Vault.List()).Name);
    }

    [Fact]
    public async Task An_approval_requested_and_then_decided_on_another_node_is_read_back_with_its_stored_status()
    {
        await _core.StartAsync(_config, initializeKeys: false, Ct);
        var reader = Node();
        var admin = new Approver("admin", null, null);
        var now = _core.Time.GetUtcNow();
        var pending = new ApprovalRequest
        {
            Id = "ap-1", Status = ApprovalStatus.Pending, ClientId = "agent-1", Tool = "crm", Audience = "https://crm.test", Scopes = ["crm:export"],
            GatedScopes = ["crm:export"], Group = "oncall", CreatedAt = now, ExpiresAt = now.AddMinutes(10), Interval = 5,
            Ttl = TimeSpan.FromMinutes(5), MaxUses = 1, TokenLifetime = TimeSpan.FromMinutes(5),
        };

        _approvals.Rows = [pending];
        await reader.Applier.ApplyAsync(new ClusterChange(1, ClusterChangeKind.Approval, "ap-1"), Ct);
        Assert.Equal(ApprovalStatus.Pending, Assert.Single(reader.Approvals.List(null, admin, isAdmin: true)).Status);

        _approvals.Rows = [pending with { Status = ApprovalStatus.Approved, DecidedBy = "bob", DecidedAt = now }];
        await reader.Applier.ApplyAsync(new ClusterChange(2, ClusterChangeKind.Approval, "ap-1"), Ct);
        Assert.Equal(ApprovalStatus.Approved, Assert.Single(reader.Approvals.List(null, admin, isAdmin: true)).Status);
    }

    [Fact]
    public async Task An_entry_of_a_kind_this_build_does_not_know_throws_rather_than_being_skipped()
    {
        await _core.StartAsync(_config, initializeKeys: false, Ct);

        await Assert.ThrowsAsync<NotSupportedException>(() => Node().Applier.ApplyAsync(new ClusterChange(1, (ClusterChangeKind)99, "x"), Ct));
    }

    public async ValueTask DisposeAsync()
    {
        _owned.ForEach(o => o.Dispose());
        await _core.DisposeAsync();
    }

    /// <summary>The approvals "in the database": what the other node committed last.</summary>
    private sealed class StoredApprovals : IApprovalStore
    {
        public IReadOnlyList<ApprovalRequest> Rows { get; set; } = [];

        public Task<IReadOnlyList<ApprovalRequest>> LoadAsync(DateTimeOffset since, CancellationToken cancellationToken) => Task.FromResult(Rows);

        public Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken) => Task.FromResult(0);
    }
}
