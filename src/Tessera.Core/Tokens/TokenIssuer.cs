using Tessera.Core.Audit;
using Tessera.Core.Protocol;
using Tessera.Core.Storage;
using Tessera.Core.Telemetry;

namespace Tessera.Core.Tokens;

/// <summary>
/// The one way a token leaves the broker, whatever grant decided it: sign the claims, put the
/// issuance on record durably together with its state changes, and only then answer. Fail closed:
/// a token whose issuance is not on record is never handed out (<c>server_error</c> instead).
/// </summary>
internal sealed class TokenIssuer(SigningKeyService keys, AuditLog audit)
{
    /// <summary>
    /// Signs <paramref name="claims"/>, appends <paramref name="record"/> with <paramref name="changes"/>
    /// in one durable step, and returns the RFC 6749 §5.1 response. The caller acts on success only
    /// after this returns, and must not block before its next await: the audit writer completes
    /// callers synchronously (<see cref="AuditLog"/>).
    /// </summary>
    public async Task<OAuthResult<TokenResponse>> IssueAsync(AccessTokenClaims claims, AuditRecord record, IReadOnlyList<StateChange> changes,
        string? issuedTokenType, CancellationToken cancellationToken)
    {
        string token;
        using (TesseraTrace.Start(TesseraTrace.TokenIssuance))
        {
            token = JwtSigner.Sign(keys.Current(), claims);
        }

        try
        {
            await audit.AppendAsync(record, changes, cancellationToken);
        }
        catch (AuditWriteException)
        {
            return OAuthError.ServerError;
        }

        return OAuthResult<TokenResponse>.Ok(new TokenResponse(token, claims.Jkt is null ? "Bearer" : "DPoP", claims.ExpiresAt - claims.IssuedAt, claims.Scope.ToString(), issuedTokenType));
    }
}
