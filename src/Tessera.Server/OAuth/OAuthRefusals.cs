using Microsoft.AspNetCore.Http;
using Tessera.Core.Audit;
using Tessera.Core.Limits;
using Tessera.Core.Protocol;
using Tessera.Core.Storage;

namespace Tessera.Server.OAuth;

/// <summary>
/// Where the OAuth endpoints refuse what they decide themselves (the form, the shape of the client's
/// authentication, a missing <c>token</c>, a revocation of someone else's token): each refusal is
/// recorded once, with its code, before the error is answered. A refusal that cannot be recorded is
/// not answered as a refusal: the <see cref="AuditWriteException"/> goes on to the host's one
/// exception handler, which answers <see cref="OAuthError.ServerError"/> (503), as for every action
/// whose event cannot be written.
/// </summary>
internal sealed class OAuthRefusals(AuditLog audit, RateLimits limits)
{
    /// <summary>
    /// Records <paramref name="refusal"/> as a <paramref name="type"/> event, then answers its error.
    /// <paramref name="unauthenticated"/>: see <see cref="RecordAsync"/>.
    /// </summary>
    public async Task RefuseAsync(HttpContext context, string type, Refusal refusal, bool unauthenticated, string? agent = null)
    {
        await RecordAsync(context, type, refusal, agent, unauthenticated: unauthenticated);
        await OAuthResponses.WriteErrorAsync(context, refusal.Error);
    }

    /// <summary>
    /// Records <paramref name="refusal"/> as a <paramref name="type"/> event; the caller answers.
    /// <paramref name="unauthenticated"/>: the request was refused before its caller was known (a
    /// malformed form, several or malformed client authentication methods, a refused admin bearer).
    /// Such a refusal counts against its source's allowance of refused requests, so a flood of them
    /// is cut off with 429 (and counted in the rate limit's summaries) instead of written one by one.
    /// A failed client authentication is not one of them: the client authentication limits count it.
    /// </summary>
    public Task RecordAsync(HttpContext context, string type, Refusal refusal, string? agent, IReadOnlyList<StateChange>? changes = null, bool unauthenticated = false)
    {
        if (unauthenticated)
        {
            limits.Refused(SourceAddress.From(context.Connection.RemoteIpAddress));
        }

        return audit.AppendAsync(new AuditRecord
        {
            Type = type,
            Outcome = AuditOutcomes.Denied,
            Agent = agent,

            // The token endpoint's refusals name the OAuth error first, as TokenService records its own.
            Reason = type == AuditTypes.TokenDenied ? $"{refusal.Error.Code}: {refusal.Reason}" : refusal.Reason,
            ReasonCode = refusal.Code,
            RequestId = context.TraceIdentifier,
        }, changes ?? [], context.RequestAborted);
    }
}
