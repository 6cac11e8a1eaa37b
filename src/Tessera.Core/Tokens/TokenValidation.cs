namespace Tessera.Core.Tokens;

public enum TokenStatus
{
    Active,
    Malformed,
    InvalidSignature,
    Expired,
    Revoked,

    /// <summary>Signed by us, but with a lifetime Tessera never issues: <c>exp − iat</c> beyond <c>tokens.max_ttl</c> plus skew, or <c>iat</c> in the future.</summary>
    LifetimeExceeded,
}

/// <summary>The result of validating one of our own tokens. <see cref="Claims"/> is set when the signature verified.</summary>
public sealed record TokenValidation(TokenStatus Status, AccessTokenClaims? Claims, string Reason)
{
    public bool IsActive => Status == TokenStatus.Active;
}
