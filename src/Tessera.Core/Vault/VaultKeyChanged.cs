using Tessera.Core.Storage;

namespace Tessera.Core.Vault;

/// <summary>
/// A new key-encryption key, every live data key rewrapped under it, and the keys it replaces
/// deleted, in one transaction: storage never holds a data key wrapped by a deleted key.
/// </summary>
public sealed record VaultKeyChanged(KeyEncryptionKey Key, IReadOnlyList<RewrappedKey> Rewrapped, IReadOnlyList<string> RemovedKeyIds) : StateChange;

public sealed record RewrappedKey(SecretVersionId Version, byte[] WrappedKey);
