namespace Tessera.Core.Storage;

/// <summary>What part of a node's in-memory state a <see cref="ClusterChange"/> touches (stored as its number: never renumber).</summary>
public enum ClusterChangeKind
{
    /// <summary>A revocation; the key carries the whole entry.</summary>
    Revocation = 1,

    /// <summary>An agent suspended or resumed; the key is the agent id.</summary>
    Suspension = 2,

    /// <summary>A signing key added or retired; the key is its kid.</summary>
    SigningKey = 3,

    /// <summary>A secret version added or destroyed, or the vault's key-encryption key changed; the key is the secret name or key id.</summary>
    Vault = 4,

    /// <summary>An approval requested or stepped (decided, redeemed, revoked, expired); the key is its id.</summary>
    Approval = 5,
}
