using Tessera.Core.Storage;

namespace Tessera.Core.Approvals;

/// <summary>
/// A new snapshot of an approval, stored with the audit event of the step that produced it. A
/// store applies it only if the stored status is still <see cref="PreviousStatus"/> (null: a new
/// row) and fails the commit otherwise: a second guard, behind the service's lock, that a step is
/// taken once.
/// </summary>
public abstract record ApprovalChange(ApprovalRequest Approval, string? PreviousStatus) : StateChange;
