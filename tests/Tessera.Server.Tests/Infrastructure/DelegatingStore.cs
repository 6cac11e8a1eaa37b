using Tessera.Core.Storage;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>A store that hands every port to <paramref name="inner"/>; test stores override the part they change.</summary>
public abstract class DelegatingStore(ITesseraStore inner) : ITesseraStore
{
    protected ITesseraStore Inner { get; } = inner;

    public virtual IAuditStore Audit => Inner.Audit;

    public IRevocationStore Revocations => Inner.Revocations;

    public ISigningKeyStore SigningKeys => Inner.SigningKeys;

    public IMissionStore Missions => Inner.Missions;

    public IAgentStateStore AgentStates => Inner.AgentStates;

    public IReplayStore Replays => Inner.Replays;

    public ISecretStore Secrets => Inner.Secrets;

    public ITokenUseStore TokenUses => Inner.TokenUses;

    public IApprovalStore Approvals => Inner.Approvals;

    public IUsageStore Usage => Inner.Usage;

    public Core.Leases.ILeaseStore Leases => Inner.Leases;

    public virtual IChangeFeed? Changes => Inner.Changes;

    public Task<SchemaMigration> MigrateAsync(CancellationToken cancellationToken) => Inner.MigrateAsync(cancellationToken);

    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return Inner.DisposeAsync();
    }
}
