namespace Tessera.Core.Approvals;

/// <summary>
/// The result of a decision attempt: the outcome, the approval as it now stands, a description for a
/// person, and for a refusal its <see cref="Protocol.RefusalCodes"/> code and whether it is on record already.
/// </summary>
public sealed record ApprovalDecision(ApprovalDecisionOutcome Outcome, ApprovalRequest? Approval, string Description, string? Code = null, bool Audited = false);
