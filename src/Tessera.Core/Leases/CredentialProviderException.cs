namespace Tessera.Core.Leases;

/// <summary>
/// A provider's failure. The message is safe to show an operator and to audit: it names what failed
/// and the system's error code, never a password or a connection string.
/// </summary>
public sealed class CredentialProviderException(CredentialFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public CredentialFailure Failure { get; } = failure;

    /// <summary>Whether the credential may have been made before the failure (the system's answer was lost), so it must be ended to be sure.</summary>
    public bool MayExist { get; init; }
}
