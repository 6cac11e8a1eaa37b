namespace Tessera.Client;

/// <summary>The decision on an <see cref="ApprovalRequest"/>.</summary>
/// <param name="Status">Approved, denied or expired.</param>
/// <param name="Token">The approved token (limited to the approval's <c>ttl</c> and <c>max_uses</c>); null unless approved.</param>
/// <param name="ErrorDescription">Tessera's words for a denial or expiry (who denied it, for example); null when approved.</param>
public sealed record ApprovalOutcome(ApprovalStatus Status, TesseraToken? Token, string? ErrorDescription)
{
    /// <summary>True when approved (then <see cref="Token"/> is set).</summary>
    public bool IsApproved => Status == ApprovalStatus.Approved;
}
