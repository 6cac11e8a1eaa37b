namespace Tessera.Core.Leases;

/// <summary>What became of an attempt to end a lease: the lease as it now stands, and the failure if it is still ending.</summary>
public sealed record LeaseEnd(Lease Lease, string? Error)
{
    public bool Ended => Lease.Status == LeaseStatus.Ended;
}
