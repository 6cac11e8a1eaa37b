namespace Tessera.Core.Approvals;

/// <summary>An approval was approved, denied or expired (<c>approval.approved|denied|expired</c>).</summary>
public sealed record ApprovalDecided(ApprovalRequest Approval, string PreviousStatus) : ApprovalChange(Approval, PreviousStatus);
