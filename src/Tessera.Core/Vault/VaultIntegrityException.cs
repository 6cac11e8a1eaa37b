namespace Tessera.Core.Vault;

/// <summary>
/// A stored secret failed authenticated decryption: its ciphertext, data key or binding (name,
/// version, key id) was altered, or the master key is not the one it was sealed under. The message
/// names the version only; it never carries key material or plaintext.
/// </summary>
public sealed class VaultIntegrityException : Exception
{
    public VaultIntegrityException(SecretVersionId version, Exception inner)
        : base($"secret {version} failed its integrity check: the stored ciphertext or its binding was altered, or the master key is wrong", inner)
    {
        Version = version;
    }

    public VaultIntegrityException()
    {
    }

    public VaultIntegrityException(string message) : base(message)
    {
    }

    public VaultIntegrityException(string message, Exception inner) : base(message, inner)
    {
    }

    public SecretVersionId Version { get; }
}
