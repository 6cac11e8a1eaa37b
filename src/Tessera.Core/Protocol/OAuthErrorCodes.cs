namespace Tessera.Core.Protocol;

public static class OAuthErrorCodes
{
    public const string InvalidRequest = "invalid_request";
    public const string InvalidClient = "invalid_client";
    public const string InvalidGrant = "invalid_grant";
    public const string InvalidScope = "invalid_scope";
    public const string InvalidTarget = "invalid_target";
    public const string UnauthorizedClient = "unauthorized_client";
    public const string UnsupportedGrantType = "unsupported_grant_type";
    public const string UnsupportedTokenType = "unsupported_token_type";
    public const string InvalidDpopProof = "invalid_dpop_proof";
    public const string UseDpopNonce = "use_dpop_nonce";
    public const string InvalidAuthorizationDetails = "invalid_authorization_details";

    /// <summary>RFC 6749 §4.1.2.1's code for a server that cannot answer now (sent with 503): a node that is not current.</summary>
    public const string TemporarilyUnavailable = "temporarily_unavailable";

    /// <summary>Tessera's answer to a request that needs a person's approval first (docs/approvals.md).</summary>
    public const string ApprovalRequired = "approval_required";

    // CIBA polling (OpenID CIBA Core §11).
    public const string AuthorizationPending = "authorization_pending";
    public const string SlowDown = "slow_down";
    public const string AccessDenied = "access_denied";
    public const string ExpiredToken = "expired_token";
}
