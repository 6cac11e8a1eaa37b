namespace Tessera.Core.Approvals;

/// <summary>
/// Tells an approval's group that a request waits for them (docs/approvals.md, webhooks of
/// <c>approver_groups</c>). Called once the request is on record; must return at once and never
/// throw: a notification that fails must not lose, block or delay the approval itself.
/// </summary>
public interface IApprovalNotifier
{
    /// <param name="approval">The new pending request.</param>
    /// <param name="stillWaiting">Whether it still waits for a decision; retries stop once it does not.</param>
    void Requested(ApprovalRequest approval, Func<bool> stillWaiting);
}

/// <summary>For a configuration without webhooks, and for tests of the flow alone.</summary>
public sealed class NoApprovalNotifier : IApprovalNotifier
{
    public static readonly NoApprovalNotifier Instance = new();

    public void Requested(ApprovalRequest approval, Func<bool> stillWaiting)
    {
    }
}
