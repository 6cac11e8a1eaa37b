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

    /// <summary>A copy (for <c>with</c>) without the cached header and hash, which belong to the original's token.</summary>
    private TesseraToken(TesseraToken original)
    {
        AccessToken = original.AccessToken;
        ExpiresAt = original.ExpiresAt;
        Scope = original.Scope;
        TokenType = original.TokenType;
    }

    /// <summary>True for a DPoP-bound token: every use needs a proof of the key.</summary>
    public bool IsDPoP => string.Equals(TokenType, "DPoP", StringComparison.OrdinalIgnoreCase);

    /// <summary>The Authorization header value, made once per token so a cached token costs no allocation per call.</summary>
    internal AuthenticationHeaderValue Authorization => _authorization ??= new AuthenticationHeaderValue(IsDPoP ? "DPoP" : "Bearer", AccessToken);

    /// <summary>The token's hash for a DPoP proof's <c>ath</c> (RFC 9449 §4.2), made once per token.</summary>
    internal string Ath => _ath ??= Base64UrlText.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(AccessToken)));

    /// <summary>Equal when the four values are; the cached header and hash do not count.</summary>
    /// <param name="other">The other token.</param>
    public bool Equals(TesseraToken? other) =>
        other is not null && AccessToken == other.AccessToken && ExpiresAt == other.ExpiresAt && Scope == other.Scope && TokenType == other.TokenType;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(AccessToken, ExpiresAt, Scope, TokenType);

    /// <summary>Leaves the token out of <see cref="object.ToString"/>, so a logged record shows no credential.</summary>
    public override string ToString() => $"TesseraToken {{ TokenType = {TokenType}, Scope = {Scope}, ExpiresAt = {ExpiresAt:O} }}";
}
