using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Tessera.Client;

/// <summary>An access token issued by Tessera.</summary>
/// <param name="AccessToken">The token itself (a JWT); never log it.</param>
/// <param name="ExpiresAt">When it expires.</param>
/// <param name="Scope">The scopes granted, space-separated (<c>crm:read crm:export</c>).</param>
/// <param name="TokenType"><c>Bearer</c>, or <c>DPoP</c> for a token bound to the agent's DPoP key.</param>
public sealed record TesseraToken(string AccessToken, DateTimeOffset ExpiresAt, string Scope, string TokenType)
{
    private AuthenticationHeaderValue? _authorization;
    private string? _ath;

    /// <summary>True for a DPoP-bound token: every use needs a proof of the key.</summary>
    public bool IsDPoP => string.Equals(TokenType, "DPoP", StringComparison.OrdinalIgnoreCase);

    /// <summary>The Authorization header value, made once per token so a cached token costs no allocation per call.</summary>
    internal AuthenticationHeaderValue Authorization => _authorization ??= new AuthenticationHeaderValue(IsDPoP ? "DPoP" : "Bearer", AccessToken);

    /// <summary>The token's hash for a DPoP proof's <c>ath</c> (RFC 9449 §4.2), made once per token.</summary>
    internal string Ath => _ath ??= Base64UrlText.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(AccessToken)));

    /// <summary>Leaves the token out of <see cref="object.ToString"/>, so a logged record shows no credential.</summary>
    public override string ToString() => $"TesseraToken {{ TokenType = {TokenType}, Scope = {Scope}, ExpiresAt = {ExpiresAt:O} }}";
}
