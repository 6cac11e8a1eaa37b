namespace Tessera.Core.Tokens;

/// <summary>A successful RFC 6749 §5.1 response.</summary>
public sealed record TokenResponse(string AccessToken, string TokenType, long ExpiresIn, string Scope, string? IssuedTokenType = null);
