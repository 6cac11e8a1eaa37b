using System.Security.Cryptography;

namespace Tessera.Core.Vault;

/// <summary>
/// The 256-bit key that encrypts every key and secret Tessera stores. It comes from
/// <c>TESSERA_MASTER_KEY</c> (base64) or from <c>data_dir/master.key</c>, created with mode 0600 on
/// first start. It never enters storage.
/// </summary>
public sealed class MasterKey : IDisposable
{
    public const string EnvironmentVariable = "TESSERA_MASTER_KEY";
    public const string FileName = "master.key";

    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key;

    public MasterKey(byte[] key)
    {
        if (key.Length != 32)
        {
            throw new ArgumentException("the master key must be 32 bytes", nameof(key));
        }

        _key = key;
    }

    /// <summary>Where the key came from, for the start-up message (never the key itself).</summary>
    public string Source { get; internal init; } = "memory";

    /// <summary>The provider for this installation: the environment when set, else the data directory's file.</summary>
    public static IMasterKeyProvider ProviderFor(string dataDir, string? environmentValue) =>
        string.IsNullOrWhiteSpace(environmentValue)
            ? new FileMasterKeyProvider(Path.Combine(dataDir, FileName))
            : new EnvironmentMasterKeyProvider(environmentValue);

    /// <summary>
    /// Loads the key from the environment or <paramref name="dataDir"/>, creating the file (0600)
    /// when neither exists. A malformed key stops start-up rather than being replaced.
    /// </summary>
    public static MasterKey Load(string dataDir, string? environmentValue) => ProviderFor(dataDir, environmentValue).Load();

    internal static byte[] Decode(string text, string where)
    {
        try
        {
            var bytes = Convert.FromBase64String(text.Trim());
            if (bytes.Length == 32)
            {
                return bytes;
            }
        }
        catch (FormatException)
        {
            // Reported below without echoing the value.
        }

        throw new InvalidOperationException($"{where}: the master key must be 32 bytes in base64");
    }

    /// <summary>
    /// Derives a 256-bit key for one purpose with HKDF-SHA256. The vault's key-encryption keys are
    /// derived with a random salt kept in storage: deleting the salt destroys the derived key even
    /// for someone who holds the master key.
    /// </summary>
    public byte[] Derive(ReadOnlySpan<byte> salt, string purpose)
    {
        var output = new byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, _key, output, salt, System.Text.Encoding.UTF8.GetBytes(purpose));
        return output;
    }

    /// <summary>AES-256-GCM with a random nonce; <paramref name="associatedData"/> binds the ciphertext to its name.</summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var output = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(NonceSize, plaintext.Length), output.AsSpan(NonceSize + plaintext.Length), associatedData);
        return output;
    }

    /// <summary>Decrypts what <see cref="Seal"/> produced; throws when the data or its name was altered.</summary>
    public byte[] Open(ReadOnlySpan<byte> sealedData, ReadOnlySpan<byte> associatedData)
    {
        if (sealedData.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("sealed data is truncated");
        }

        var length = sealedData.Length - NonceSize - TagSize;
        var plaintext = new byte[length];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(sealedData[..NonceSize], sealedData.Slice(NonceSize, length), sealedData[(NonceSize + length)..], plaintext, associatedData);
        return plaintext;
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_key);
}
