namespace Tessera.Core.Tokens;

public enum TokenStatus
{
    Active,
    Malformed,
    InvalidSignature,
    Expired,
    Revoked,
}

/// <summary>The result of validating one of our own tokens. <see cref="Claims"/> is set when the signature verified.</summary>
public sealed record TokenValidation(TokenStatus Status, AccessTokenClaims? Claims, string Reason)
{
    public bool IsActive => Status == TokenStatus.Active;
}
