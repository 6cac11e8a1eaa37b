namespace Tessera.Core.Tokens;

/// <summary>RFC 8693 §3 token type identifiers.</summary>
public static class TokenTypes
{
    public const string Jwt = "urn:ietf:params:oauth:token-type:jwt";
    public const string AccessToken = "urn:ietf:params:oauth:token-type:access_token";
}
