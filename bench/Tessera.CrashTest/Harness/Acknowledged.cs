namespace Tessera.CrashTest;

/// <summary>
/// One acknowledged action: <paramref name="Id"/> is what its audit event carries (a <c>jti</c>, an
/// approval id, a secret version as <c>NAME vN</c>, a proxied path, <c>mission:ID</c> for a revoked
/// mission); <paramref name="Token"/> is the revoked token itself (for a mission, one of its tokens),
/// to check it stays refused; <paramref name="Approval"/> the approval a redeemed token came from.
/// </summary>
internal sealed record Acknowledged(ActionKind Kind, string Id, string? Token = null, string? Approval = null)
{
    /// <summary>The audit event type that must be present for this action.</summary>
    public string EventType => Kind switch
    {
        ActionKind.Issued or ActionKind.ApprovalRedeemed => "token.issued",
        ActionKind.Exchanged => "token.exchanged",
        ActionKind.Revoked or ActionKind.MissionRevoked => "token.revoked",
        ActionKind.SecretRotated => "secret.rotated",
        ActionKind.ApprovalRequested => "approval.requested",
        ActionKind.ApprovalApproved => "approval.approved",
        ActionKind.Proxied => "proxy.forwarded",
        _ => throw new ArgumentOutOfRangeException(nameof(Kind)),
    };
}
