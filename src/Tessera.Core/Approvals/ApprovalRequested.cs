namespace Tessera.Core.Approvals;

/// <summary>A pending approval was created (<c>approval.requested</c>).</summary>
public sealed record ApprovalRequested(ApprovalRequest Approval) : ApprovalChange(Approval, null);
