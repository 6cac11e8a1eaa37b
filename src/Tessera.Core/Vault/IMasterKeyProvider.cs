namespace Tessera.Core.Vault;

/// <summary>
/// Where the master key comes from. The environment and a 0600 file are built in; an external KMS
/// (which would unwrap the key-encryption keys itself) plugs in here later without touching the vault.
/// </summary>
public interface IMasterKeyProvider
{
    /// <summary>Where the key comes from, for the start-up message; never the key itself.</summary>
    string Description { get; }

    /// <summary>Loads the key, or throws with a message that names the source and never the value.</summary>
    MasterKey Load();
}
