namespace Tessera.Core.Vault;

public readonly record struct SecretVersionId(string Name, int Version)
{
    public override string ToString() => $"{Name} v{Version}";
}
