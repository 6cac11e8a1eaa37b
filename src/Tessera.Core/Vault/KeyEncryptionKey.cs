namespace Tessera.Core.Vault;

/// <summary>
/// A key-encryption key of the vault: HKDF(master key, <see cref="Salt"/>, its id). Only the salt
/// is stored; the key exists in memory. Removing the row after a rekey makes the key unrecoverable.
/// </summary>
public sealed record KeyEncryptionKey(string Id, byte[] Salt, DateTimeOffset CreatedAt)
{
    internal string Purpose => "tessera/vault/kek/" + Id;
}
