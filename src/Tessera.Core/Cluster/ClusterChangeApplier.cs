using Tessera.Core.Approvals;
using Tessera.Core.Identity;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;
using Tessera.Core.Vault;

namespace Tessera.Core.Cluster;

/// <summary>
/// Applies one entry of the change log to this node's in-memory state. A revocation is applied from
/// the entry itself (the hot case, no read); every other kind re-reads the touched state from the
/// store, which converges on what is committed whatever the order or repetition of entries. Entries
/// this node wrote itself come back too and change nothing.
/// </summary>
public sealed class ClusterChangeApplier(RevocationIndex revocations, SuspendedAgents suspended, SigningKeyService keys, SecretVault vault, ApprovalService approvals)
{
    /// <summary>Applies <paramref name="change"/>; throws when it could not be (the node then stays behind and goes stale).</summary>
    public Task ApplyAsync(ClusterChange change, CancellationToken cancellationToken)
    {
        switch (change.Kind)
        {
            case ClusterChangeKind.Revocation:
                revocations.Apply(change.Revocation());
                return Task.CompletedTask;
            case ClusterChangeKind.Suspension:
                return suspended.ReloadAsync(cancellationToken);
            case ClusterChangeKind.SigningKey:
                return keys.ReloadAsync(cancellationToken);
            case ClusterChangeKind.Vault:
                return vault.ReloadAsync(cancellationToken);
            case ClusterChangeKind.Approval:
                return approvals.RefreshAsync(change.Key, cancellationToken);
            default:
                // Fail closed: an entry this build does not understand (a newer node wrote it) must
                // not be skipped as if applied.
                throw new NotSupportedException($"change {change.Id} has kind {(int)change.Kind}, unknown to this build");
        }
    }
}
