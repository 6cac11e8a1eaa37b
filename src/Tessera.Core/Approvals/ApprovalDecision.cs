namespace Tessera.Core.Approvals;

/// <summary>The result of a decision attempt: the outcome, the approval as it now stands, and a description for a person.</summary>
public sealed record ApprovalDecision(ApprovalDecisionOutcome Outcome, ApprovalRequest? Approval, string Description);
