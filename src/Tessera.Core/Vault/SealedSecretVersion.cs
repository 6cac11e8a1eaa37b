namespace Tessera.Core.Vault;

/// <summary>
/// One stored version of a secret: the value encrypted under its own data key, the data key
/// wrapped by a key-encryption key. Nothing here is usable without the master key.
/// </summary>
public sealed record SealedSecretVersion(
    string Name,
    int Version,
    DateTimeOffset CreatedAt,
    string KeyId,
    byte[] WrappedKey,
    byte[] Ciphertext,
    DateTimeOffset? RetiredAt = null,
    DateTimeOffset? DestroyAfter = null);
