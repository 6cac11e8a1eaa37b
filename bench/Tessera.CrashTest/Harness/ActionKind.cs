namespace Tessera.CrashTest;

/// <summary>An action of the mixed load that Tessera acknowledged, by the audit event it must have left.</summary>
internal enum ActionKind
{
    /// <summary>A client_credentials token (200): <c>token.issued</c> with its <c>jti</c>.</summary>
    Issued,

    /// <summary>A token exchange starting a mission (200): <c>token.exchanged</c> with its <c>jti</c>.</summary>
    Exchanged,

    /// <summary>A revocation (200 from /oauth/revoke): <c>token.revoked</c> with the <c>jti</c>; the token stays dead.</summary>
    Revoked,

    /// <summary>A mission revoked through the admin API (200): <c>token.revoked</c> naming the mission; its token stays dead.</summary>
    MissionRevoked,

    /// <summary>A secret rotation (200 from the admin API): <c>secret.rotated</c> naming the version; that version or a newer one stays current.</summary>
    SecretRotated,

    /// <summary>An approval request (<c>approval_required</c> with an <c>auth_req_id</c>): <c>approval.requested</c>.</summary>
    ApprovalRequested,

    /// <summary>An approval decided (200 from the admin API): <c>approval.approved</c>; it is no longer pending.</summary>
    ApprovalApproved,

    /// <summary>
    /// An approved request redeemed by the agent's CIBA poll (200 with the token): <c>token.issued</c>
    /// with its <c>jti</c>; the approval stays redeemed, and a second poll gets no second token.
    /// </summary>
    ApprovalRedeemed,

    /// <summary>A proxied call the upstream answered (200 through the proxy): <c>proxy.forwarded</c> with its unique path.</summary>
    Proxied,
}
