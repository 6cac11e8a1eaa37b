using Tessera.Core.Tools;

namespace Tessera.Core.Leases;

/// <summary>
/// Makes and unmakes the credentials of one kind of tool (a database's login roles; later an App
/// installation token, a cloud session). The lease lifecycle (the durable record first, revocation
/// cascade, retries with backoff, force-end, the sweep at start, audit) is <see cref="LeaseService"/>'s
/// and the same for every kind; a provider only talks to its system. See docs/architecture.md,
/// "Credential providers".
/// </summary>
public interface ICredentialProvider
{
    /// <summary>The kind of tool this provider serves.</summary>
    ToolProtocol Protocol { get; }

    /// <summary>
    /// Creates the credential <paramref name="request"/> describes, holding exactly its grants until
    /// its expiry, all or nothing. Throws <see cref="CredentialProviderException"/> when it cannot.
    /// </summary>
    Task<IssuedCredential> IssueAsync(CredentialRequest request, CancellationToken cancellationToken);

    /// <summary>Moves the credential's expiry to <see cref="CredentialRequest.ExpiresAt"/>; throws <see cref="CredentialProviderException"/> when it cannot.</summary>
    Task RenewAsync(CredentialRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Ends the credential: its sessions are cut and it is deleted. Idempotent: a credential that
    /// no longer exists (or never did) is ended. Throws <see cref="CredentialProviderException"/> when it cannot.
    /// </summary>
    Task RevokeAsync(CredentialRequest request, CancellationToken cancellationToken);
}
