namespace Tessera.Core.Vault;

public enum CredentialLookup
{
    Found,

    /// <summary>No secret of that name is stored: the tool cannot be reached until one is put.</summary>
    Missing,

    /// <summary>The stored secret failed its integrity check; nothing is injected.</summary>
    Broken,
}
