using System.Security.Cryptography;
using System.Text;

namespace Tessera.Core.Vault;

/// <summary>
/// Envelope encryption for one secret version, with AES-256-GCM at both layers. The value is
/// encrypted under a fresh data key bound to the secret's name and version; the data key is
/// wrapped under a key-encryption key bound to name, version and that key's id. A ciphertext moved
/// to another secret or version, or a wrapped key moved under another key id, fails to decrypt.
/// The layout (nonce ‖ ciphertext ‖ tag) is ours because it is the storage format of our product.
/// </summary>
internal static class SecretEnvelope
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int KeySize = 32;

    public static (byte[] WrappedKey, byte[] Ciphertext) Seal(ReadOnlySpan<byte> value, byte[] kek, string kekId, SecretVersionId id)
    {
        Span<byte> dataKey = stackalloc byte[KeySize];
        RandomNumberGenerator.Fill(dataKey);
        try
        {
            var ciphertext = Encrypt(dataKey, value, ValueBinding(id));
            var wrapped = Encrypt(kek, dataKey, KeyBinding(id, kekId));
            return (wrapped, ciphertext);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    /// <summary>Decrypts a version's value; the caller zeroes the result when done with it.</summary>
    public static byte[] Open(SealedSecretVersion version, byte[] kek)
    {
        var id = new SecretVersionId(version.Name, version.Version);
        Span<byte> dataKey = stackalloc byte[KeySize];
        try
        {
            Decrypt(kek, version.WrappedKey, KeyBinding(id, version.KeyId), dataKey);
            var value = new byte[PlaintextLength(version.Ciphertext)];
            Decrypt(dataKey, version.Ciphertext, ValueBinding(id), value);
            return value;
        }
        catch (CryptographicException ex)
        {
            throw new VaultIntegrityException(id, ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    /// <summary>Unwraps the data key under the old key-encryption key and wraps it under the new one; the value is untouched.</summary>
    public static byte[] Rewrap(SealedSecretVersion version, byte[] oldKek, byte[] newKek, string newKekId)
    {
        var id = new SecretVersionId(version.Name, version.Version);
        Span<byte> dataKey = stackalloc byte[KeySize];
        try
        {
            Decrypt(oldKek, version.WrappedKey, KeyBinding(id, version.KeyId), dataKey);
            return Encrypt(newKek, dataKey, KeyBinding(id, newKekId));
        }
        catch (CryptographicException ex)
        {
            throw new VaultIntegrityException(id, ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    private static byte[] ValueBinding(SecretVersionId id) => Encoding.UTF8.GetBytes($"tessera/vault/value\n{id.Name}\n{id.Version}");

    private static byte[] KeyBinding(SecretVersionId id, string kekId) => Encoding.UTF8.GetBytes($"tessera/vault/data-key\n{id.Name}\n{id.Version}\n{kekId}");

    private static byte[] Encrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext, byte[] associatedData)
    {
        var output = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(NonceSize, plaintext.Length), output.AsSpan(NonceSize + plaintext.Length), associatedData);
        return output;
    }

    private static int PlaintextLength(byte[] sealedData) =>
        sealedData.Length < NonceSize + TagSize ? throw new CryptographicException("sealed data is truncated") : sealedData.Length - NonceSize - TagSize;

    private static void Decrypt(ReadOnlySpan<byte> key, byte[] sealedData, byte[] associatedData, Span<byte> plaintext)
    {
        var length = PlaintextLength(sealedData);
        if (plaintext.Length != length)
        {
            throw new CryptographicException("sealed data has the wrong length");
        }

        using var aes = new AesGcm(key, TagSize);
        var data = sealedData.AsSpan();
        aes.Decrypt(data[..NonceSize], data.Slice(NonceSize, length), data[(NonceSize + length)..], plaintext, associatedData);
    }
}
