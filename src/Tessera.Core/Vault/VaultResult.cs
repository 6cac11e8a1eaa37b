namespace Tessera.Core.Vault;

/// <summary>The outcome of a vault change: the secret's new metadata, or why it was refused.</summary>
public sealed record VaultResult(SecretInfo? Secret, VaultError? Error)
{
    public static VaultResult Ok(SecretInfo secret) => new(secret, null);

    public static VaultResult Refused(VaultErrorKind kind, string code, string message) => new(null, new VaultError(kind, message, code));
}

/// <summary>Why a change was refused: its kind (the status), the message, and the <see cref="Protocol.RefusalCodes"/> code on record.</summary>
public sealed record VaultError(VaultErrorKind Kind, string Message, string Code);

public enum VaultErrorKind
{
    Invalid,
    NotFound,
    Conflict,
}
