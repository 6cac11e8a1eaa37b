using System.Security.Cryptography;

namespace Tessera.Core.Vault;

/// <summary>
/// The master key in <c>data_dir/master.key</c>, created with mode 0600 (in a 0700 directory) on
/// first start. A malformed file stops start-up rather than being replaced: replacing it would orphan
/// every secret. So does a file that group or others may read or write.
/// </summary>
public sealed class FileMasterKeyProvider(string path) : IMasterKeyProvider
{
    public string Description => path;

    public MasterKey Load()
    {
        if (File.Exists(path))
        {
            PrivateFile.EnsureNotShared(path, "the master key");
            return new MasterKey(MasterKey.Decode(File.ReadAllText(path), path)) { Source = path };
        }

        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            PrivateFile.CreateDirectory(directory);
        }

        var key = RandomNumberGenerator.GetBytes(32);
        PrivateFile.WriteNew(path, Convert.ToBase64String(key) + "\n");
        return new MasterKey(key) { Source = path + " (created)" };
    }
}
