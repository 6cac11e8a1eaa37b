namespace Tessera.Core.Approvals;

/// <summary>The one token of an approval was issued (<c>token.issued</c>).</summary>
public sealed record ApprovalRedeemed(ApprovalRequest Approval) : ApprovalChange(Approval, ApprovalStatus.Approved);
