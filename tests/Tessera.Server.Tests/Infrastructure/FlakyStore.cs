using Tessera.Core.Audit;
using Tessera.Core.Storage;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>A store whose audit appends fail on demand, as a full disk or lost database would.</summary>
public sealed class FlakyStore(ITesseraStore inner) : ITesseraStore, IAuditStore
{
    private volatile bool _failAppends;

    public bool FailAppends { get => _failAppends; set => _failAppends = value; }

    public IAuditStore Audit => this;
    public IRevocationStore Revocations => inner.Revocations;
    public ISigningKeyStore SigningKeys => inner.SigningKeys;
    public IMissionStore Missions => inner.Missions;
    public IAgentStateStore AgentStates => inner.AgentStates;
    public IReplayStore Replays => inner.Replays;

    public ISecretStore Secrets => inner.Secrets;

    public ITokenUseStore TokenUses => inner.TokenUses;

    public IApprovalStore Approvals => inner.Approvals;

    public Task MigrateAsync(CancellationToken cancellationToken) => inner.MigrateAsync(cancellationToken);

    public Task AppendAsync(IReadOnlyList<AuditEvent> events, IReadOnlyList<StateChange> changes, CancellationToken cancellationToken) =>
        FailAppends ? throw new IOException("disk full (simulated)") : inner.Audit.AppendAsync(events, changes, cancellationToken);

    public Task<AuditHead> GetHeadAsync(CancellationToken cancellationToken) => inner.Audit.GetHeadAsync(cancellationToken);

    public IAsyncEnumerable<AuditRow> ReadRowsAsync(long fromSeq, CancellationToken cancellationToken) => inner.Audit.ReadRowsAsync(fromSeq, cancellationToken);

    public Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken cancellationToken) => inner.Audit.QueryAsync(query, cancellationToken);

    public Task<long> CountAsync(AuditQuery query, CancellationToken cancellationToken) => inner.Audit.CountAsync(query, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
