using Tessera.Core.Storage;

namespace Tessera.Core.Leases;

/// <summary>
/// A lease moving on (issued, an attempt to end it failed, ended), written in the same transaction
/// as the audit event that records it. A lease already ended stays ended: a late step changes nothing.
/// </summary>
/// <param name="LeaseId">The lease.</param>
/// <param name="Status">Its new status.</param>
/// <param name="At">When.</param>
/// <param name="Attempts">How many attempts to end it have failed so far.</param>
/// <param name="NextAttemptAt">When to try ending it again (while ending).</param>
/// <param name="LastError">The last failure to end it, or null.</param>
/// <param name="EndReason">Why it ends, or null.</param>
public sealed record LeaseStep(string LeaseId, LeaseStatus Status, DateTimeOffset At, int Attempts = 0, DateTimeOffset? NextAttemptAt = null,
    string? LastError = null, string? EndReason = null) : StateChange;
