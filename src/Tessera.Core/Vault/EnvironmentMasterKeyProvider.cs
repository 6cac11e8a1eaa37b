namespace Tessera.Core.Vault;

/// <summary>The master key from <c>TESSERA_MASTER_KEY</c> (32 bytes, base64).</summary>
public sealed class EnvironmentMasterKeyProvider(string value) : IMasterKeyProvider
{
    public string Description => MasterKey.EnvironmentVariable;

    public MasterKey Load() => new(MasterKey.Decode(value, MasterKey.EnvironmentVariable)) { Source = Description };
}
