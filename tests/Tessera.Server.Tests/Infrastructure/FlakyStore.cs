using Tessera.Core.Audit;
using Tessera.Core.Storage;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// A store whose audit appends fail on demand, as a full disk or lost database would, or hang, as a
/// database another process holds locked does.
/// </summary>
public sealed class FlakyStore(ITesseraStore inner) : ITesseraStore, IAuditStore
{
    private volatile bool _failAppends;
    private volatile TaskCompletionSource? _gate;
    private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool FailAppends { get => _failAppends; set => _failAppends = value; }

    /// <summary>Completes once an append is held by <see cref="HoldAppends"/>.</summary>
    public Task Holding => _holding.Task;

    /// <summary>Every append from now on waits until <see cref="ReleaseAppends"/>, then is written.</summary>
    public void HoldAppends() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseAppends() => Interlocked.Exchange(ref _gate, null)?.TrySetResult();

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

    public async Task AppendAsync(IReadOnlyList<AuditEvent> events, IReadOnlyList<StateChange> changes, CancellationToken cancellationToken)
    {
        if (_gate is { } gate)
        {
            _holding.TrySetResult();
            await gate.Task;
        }

        if (FailAppends)
        {
            throw new IOException("disk full (simulated)");
        }

        await inner.Audit.AppendAsync(events, changes, cancellationToken);
    }

    public Task<AuditHead> GetHeadAsync(CancellationToken cancellationToken) => inner.Audit.GetHeadAsync(cancellationToken);

    public IAsyncEnumerable<AuditRow> ReadRowsAsync(long fromSeq, CancellationToken cancellationToken) => inner.Audit.ReadRowsAsync(fromSeq, cancellationToken);

    public Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken cancellationToken) => inner.Audit.QueryAsync(query, cancellationToken);

    public Task<long> CountAsync(AuditQuery query, CancellationToken cancellationToken) => inner.Audit.CountAsync(query, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
