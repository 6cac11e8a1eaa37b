using Tessera.Core.Leases;

namespace Tessera.Core.Tests.Storage;

/// <summary>An applier that writes nothing: it adds every change it is handed, with the method that took it, to the list it is given as its transaction.</summary>
internal sealed class RecordingStateChangeApplier : IStateChangeApplier<List<(string Method, StateChange Change)>>
{
    public Task RevokeAsync(RevocationEntry change, List<(string, StateChange)> applied, CancellationToken cancellationToken) => Record(applied, nameof(RevokeAsync), change);

    public Task AddSigningKeyAsync(SigningKeyAdded change, List<(string, StateChange)> applied, CancellationToken cancellationToken) => Record(applied, nameof(AddSigningKeyAsync), change);

    public Task RetireSigningKeyAsync(SigningKeyRetired change, List<(string, StateChange)> applied, CancellationToken cancellationToken) => Record(applied, nameof(RetireSigningKeyAsync), change);

    public Task StartMissionAsync(MissionStarted change, List<(string, StateChange)> applied, CancellationToken cancellationToken) => Record(applied, nameof(StartMissionAsync), change);

    public Task UseAssertionAsync(AssertionUsed change, List<(string, StateChange)> applied, CancellationToken cancellationToken) => Record(applied, nameof(UseAssertionAsync), change);

    public Task SuspendAgentAsync(AgentSuspension change, List<(string, StateChange)> applied, CancellationToken cancellationToken) => Record(applied, nameof(SuspendAgentAsync), change);

    public Task AddSecretVersionAsync(SecretVersionAdded change, List<(string, StateChange)> applied, CancellationToken cancellationToken) => Record(applied, nameof(AddSecretVersionAsync), change);

    public Task ChangeVaultKeyAsync(VaultKeyChanged change, List<(string, StateChange)> applied, CancellationToken cancellationToken) => Record(applied, nameof(ChangeVaultKeyAsync), change);

    public Task DestroySecretVersionsAsync(SecretVersionsDestroyed change, List<(string, StateChange)> applied, CancellationToken cancellationToken) => Record(applied, nameof(DestroySecretVersionsAsync), change);

    public Task RequestApprovalAsync(ApprovalRequested change, List<(string, StateChange)> applied, CancellationToken cancellationToken) => Record(applied, nameof(RequestApprovalAsync), change);

    public Task StepApprovalAsync(ApprovalChange change, List<(string, StateChange)> applied, CancellationToken cancellationToken) => Record(applied, nameof(StepApprovalAsync), change);

    public Task ObserveUsageAsync(UsageObserved change, List<(string, StateChange)> applied, CancellationToken cancellationToken) => Record(applied, nameof(ObserveUsageAsync), change);

    public Task StepLeaseAsync(LeaseStep change, List<(string, StateChange)> applied, CancellationToken cancellationToken) => Record(applied, nameof(StepLeaseAsync), change);

    private static Task Record(List<(string, StateChange)> applied, string method, StateChange change)
    {
        applied.Add((method, change));
        return Task.CompletedTask;
    }
}
