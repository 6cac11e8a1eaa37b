namespace Tessera.Core.Approvals;

/// <summary>What became of an attempt to approve or deny.</summary>
public enum ApprovalDecisionOutcome
{
    Decided,
    NotFound,
    NotAMember,
    SelfApproval,

    /// <summary>The approver is one of the agents in the request's actor chain (or the asking agent).</summary>
    ApproverInChain,
    AlreadyDecided,
    Expired,
}
