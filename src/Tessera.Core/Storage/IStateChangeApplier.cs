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
/// How one store persists each kind of <see cref="StateChange"/>: one method per kind, inside the
/// transaction that appends the audit event recording it (<typeparamref name="TContext"/> is the
/// store's handle on that transaction). A store implements this interface once, so a new method here
/// is a compile error in every store until each persists the new kind; <see cref="StateChange.ApplyAsync{TContext}"/>
/// routes each change to its method. Every method throws when the change could not be written, and
/// the store then rolls back the whole batch, events included.
/// </summary>
public interface IStateChangeApplier<in TContext>
{
    /// <summary>Records a revocation; a repeat keeps the later revocation and expiry.</summary>
    Task RevokeAsync(RevocationEntry change, TContext context, CancellationToken cancellationToken);

    /// <summary>Stores a new signing key; a key id already stored fails the batch.</summary>
    Task AddSigningKeyAsync(SigningKeyAdded change, TContext context, CancellationToken cancellationToken);

    /// <summary>Deletes a signing key that left JWKS.</summary>
    Task RetireSigningKeyAsync(SigningKeyRetired change, TContext context, CancellationToken cancellationToken);

    /// <summary>Stores a new mission.</summary>
    Task StartMissionAsync(MissionStarted change, TContext context, CancellationToken cancellationToken);

    /// <summary>Remembers a used client assertion until it expires; a repeat is kept as first stored.</summary>
    Task UseAssertionAsync(AssertionUsed change, TContext context, CancellationToken cancellationToken);

    /// <summary>Suspends an agent (kept from the first suspension) or lifts its suspension.</summary>
    Task SuspendAgentAsync(AgentSuspension change, TContext context, CancellationToken cancellationToken);

    /// <summary>Stores a sealed secret version, retiring the version it replaces if any.</summary>
    Task AddSecretVersionAsync(SecretVersionAdded change, TContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Stores the new key-encryption key, rewraps the live data keys and deletes the replaced keys;
    /// fails the batch if a live data key would be left wrapped by a deleted key.
    /// </summary>
    Task ChangeVaultKeyAsync(VaultKeyChanged change, TContext context, CancellationToken cancellationToken);

    /// <summary>Erases the ciphertext and data keys of secret versions, keeping when they were destroyed.</summary>
    Task DestroySecretVersionsAsync(SecretVersionsDestroyed change, TContext context, CancellationToken cancellationToken);

    /// <summary>Stores a new pending approval.</summary>
    Task RequestApprovalAsync(ApprovalRequested change, TContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a later step of an approval only if the stored status is still
    /// <see cref="ApprovalChange.PreviousStatus"/>; otherwise fails the batch (a step is taken once).
    /// </summary>
    Task StepApprovalAsync(ApprovalChange change, TContext context, CancellationToken cancellationToken);

    /// <summary>Moves each usage counter named to the later of its stored time and the observed one.</summary>
    Task ObserveUsageAsync(UsageObserved change, TContext context, CancellationToken cancellationToken);

    /// <summary>Moves a lease to its next status, unless it has already ended (then nothing changes and the batch goes on).</summary>
    Task StepLeaseAsync(LeaseStep change, TContext context, CancellationToken cancellationToken);
}
