namespace Tessera.Core.Approvals;

/// <summary>What became of an attempt to approve or deny.</summary>
public enum ApprovalDecisionOutcome
{
    Decided,
    NotFound,
    NotAMember,
    SelfApproval,
    AlreadyDecided,
    Expired,
}
