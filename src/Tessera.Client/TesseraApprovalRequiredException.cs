namespace Tessera.Client;

/// <summary>
/// A requested scope needs a person's approval: Tessera opened one (<see cref="Approval"/>) and issued
/// nothing yet. The agent decides whether to wait for it; the SDK never waits silently.
/// </summary>
public sealed class TesseraApprovalRequiredException : TesseraTokenException
{
    /// <summary>Creates the exception for an <c>approval_required</c> answer.</summary>
    /// <param name="request">The pending approval.</param>
    /// <param name="errorDescription">Tessera's description.</param>
    public TesseraApprovalRequiredException(ApprovalRequest request, string? errorDescription)
        : base("approval_required", errorDescription, 400)
    {
        Approval = request;
    }

    /// <summary>The pending approval: its <c>auth_req_id</c>, poll interval and lifetime; await <see cref="ApprovalRequest.WaitAsync"/> for the decision.</summary>
    public ApprovalRequest Approval { get; }
}
