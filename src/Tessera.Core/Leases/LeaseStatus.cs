namespace Tessera.Core.Leases;

/// <summary>Where a lease is in its life (stored as its number: never renumber).</summary>
public enum LeaseStatus
{
    /// <summary>Recorded, its credential being created: if Tessera stops now, the lease is ended at start, so no role is left behind.</summary>
    Issuing = 0,

    /// <summary>Handed to the agent; ends at its expiry or when its token, mission or agent is revoked.</summary>
    Active = 1,

    /// <summary>Due to end, but ending it failed: retried with backoff until it succeeds or an operator forces it.</summary>
    Ending = 2,

    /// <summary>Its credential is gone (or an operator forced the record closed).</summary>
    Ended = 3,
}
