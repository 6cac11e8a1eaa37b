namespace Tessera.Core.Identity;

/// <summary>
/// What a principal's JWT is presented for. The two uses have their own audiences, so a token a
/// principal hands an agent for delegation is never an admin or approver credential, and an admin's
/// token is never a subject token.
/// </summary>
public enum IdentityTokenUse
{
    /// <summary>A subject token for token exchange: <c>aud</c> is the provider's <c>audience</c>.</summary>
    Delegation,

    /// <summary>The admin API and approval decisions: <c>aud</c> is the provider's <c>admin_audience</c>, and no <c>may_act</c> or <c>act</c>.</summary>
    Administration,
}
