namespace Tessera.Client;

/// <summary>How an approval request ended.</summary>
public enum ApprovalStatus
{
    /// <summary>A member of the approver group approved it; the token was issued.</summary>
    Approved,

    /// <summary>An approver denied it, or an admin revoked it (<c>access_denied</c>).</summary>
    Denied,

    /// <summary>Nobody decided in time, or the approved token was not redeemed in time (<c>expired_token</c>).</summary>
    Expired,
}
