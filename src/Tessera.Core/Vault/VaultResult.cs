namespace Tessera.Core.Vault;

/// <summary>The outcome of a vault change: the secret's new metadata, or why it was refused.</summary>
public sealed record VaultResult(SecretInfo? Secret, VaultError? Error)
{
    public static VaultResult Ok(SecretInfo secret) => new(secret, null);

    public static VaultResult Refused(VaultErrorKind kind, string message) => new(null, new VaultError(kind, message));
}

public sealed record VaultError(VaultErrorKind Kind, string Message);

public enum VaultErrorKind
{
    Invalid,
    NotFound,
    Conflict,
}
