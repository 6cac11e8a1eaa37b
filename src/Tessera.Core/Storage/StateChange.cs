using Tessera.Core.Approvals;
using Tessera.Core.Identity;
using Tessera.Core.Leases;
using Tessera.Core.Missions;
using Tessera.Core.Posture;
using Tessera.Core.Revocation;
using Tessera.Core.Tokens;
using Tessera.Core.Vault;

namespace Tessera.Core.Storage;

/// <summary>
/// State that is written in the same durable transaction as the audit event that records it
/// (a revocation, later a mission or an approval), so a decision and its record never diverge.
/// </summary>
public abstract record StateChange
{
    /// <summary>
    /// Persists this change through the store's <paramref name="applier"/>, inside the transaction
    /// <paramref name="context"/> stands for.
    /// </summary>
    /// <remarks>
    /// Why one routing table here rather than an abstract method on every change record: the records
    /// stay plain values in their own domains, and the route to a store is written once for every
    /// store, not per store. Forgetting to persist a new kind cannot go unnoticed: a new method on
    /// <see cref="IStateChangeApplier{TContext}"/> does not compile until every store implements it,
    /// and a new kind without a line here fails StateChangeTests, which routes every concrete
    /// <see cref="StateChange"/> in this assembly. A kind defined elsewhere still fails closed at run
    /// time: a change no store can persist must never be reported durable.
    /// </remarks>
    public Task ApplyAsync<TContext>(IStateChangeApplier<TContext> applier, TContext context, CancellationToken cancellationToken) => this switch
    {
        RevocationEntry change => applier.RevokeAsync(change, context, cancellationToken),
        SigningKeyAdded change => applier.AddSigningKeyAsync(change, context, cancellationToken),
        SigningKeyRetired change => applier.RetireSigningKeyAsync(change, context, cancellationToken),
        MissionStarted change => applier.StartMissionAsync(change, context, cancellationToken),
        AssertionUsed change => applier.UseAssertionAsync(change, context, cancellationToken),
        AgentSuspension change => applier.SuspendAgentAsync(change, context, cancellationToken),
        SecretVersionAdded change => applier.AddSecretVersionAsync(change, context, cancellationToken),
        VaultKeyChanged change => applier.ChangeVaultKeyAsync(change, context, cancellationToken),
        SecretVersionsDestroyed change => applier.DestroySecretVersionsAsync(change, context, cancellationToken),
        ApprovalRequested change => applier.RequestApprovalAsync(change, context, cancellationToken),
        UsageObserved change => applier.ObserveUsageAsync(change, context, cancellationToken),
        LeaseStep change => applier.StepLeaseAsync(change, context, cancellationToken),

        // Every later step (decided, redeemed, and any step added later) is the same guarded update.
        ApprovalChange change => applier.StepApprovalAsync(change, context, cancellationToken),
        _ => throw new NotSupportedException($"no store can persist {GetType().Name}"),
    };
}
