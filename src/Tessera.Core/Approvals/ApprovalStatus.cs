namespace Tessera.Core.Approvals;

/// <summary>Where an approval request stands. Only <see cref="Pending"/> can be decided; only <see cref="Approved"/> can be redeemed.</summary>
public static class ApprovalStatus
{
    public const string Pending = "pending";
    public const string Approved = "approved";
    public const string Denied = "denied";
    public const string Expired = "expired";

    /// <summary>Approved and its one token issued: nothing more comes of it.</summary>
    public const string Redeemed = "redeemed";

    /// <summary>Ended by an administrator before or after its token was issued; the token, if any, is revoked.</summary>
    public const string Revoked = "revoked";

    public static bool IsKnown(string status) => status is Pending or Approved or Denied or Expired or Redeemed or Revoked;

    /// <summary>Pending or approved: still able to yield a token.</summary>
    public static bool IsOpen(string status) => status is Pending or Approved;
}
