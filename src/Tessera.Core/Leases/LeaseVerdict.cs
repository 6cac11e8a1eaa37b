using Tessera.Core.Proxy;

namespace Tessera.Core.Leases;

/// <summary>The outcome of a request for a lease: the lease and its credential (shown once), or the refusal, already on record.</summary>
public sealed record LeaseVerdict(Lease? Lease, IssuedCredential? Credential, ProxyRefusal? Refusal)
{
    public static LeaseVerdict Issued(Lease lease, IssuedCredential credential) => new(lease, credential, null);

    public static LeaseVerdict Refused(ProxyRefusal refusal) => new(null, null, refusal);
}
