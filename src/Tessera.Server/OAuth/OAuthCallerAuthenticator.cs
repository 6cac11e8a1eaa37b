using Microsoft.AspNetCore.Http;
using Tessera.Core.Audit;
using Tessera.Core.Identity;
using Tessera.Core.Protocol;
using Tessera.Core.Tokens;

namespace Tessera.Server.OAuth;

/// <summary>
/// Authenticates callers of introspection and revocation: an admin's bearer token, or client
/// authentication as at the token endpoint. No authentication at all is a 401. Every refusal is
/// recorded here (through <see cref="OAuthRefusals"/>) before it is returned, except one by a rate
/// limit, which the limit counts and records together.
/// </summary>
internal sealed class OAuthCallerAuthenticator(ClientAuthenticator clients, AdminAuthenticator admins, AuditLog audit, OAuthRefusals refusals)
{
    public async Task<(OAuthCaller? Caller, OAuthError? Error)> AuthenticateAsync(HttpContext context, OAuthForm form, string deniedType)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var (admin, adminReason, _) = await admins.AuthenticateAsync(header["Bearer ".Length..].Trim(), context.RequestAborted);
            if (admin is not null)
            {
                return (OAuthCaller.ForAdmin(admin), null);
            }

            // A refused bearer is an unauthenticated request: it counts against its source's allowance.
            var refused = new Refusal(RefusalCodes.CallerAdminBearerRefused, OAuthError.InvalidClient, $"admin bearer refused: {adminReason}");
            await refusals.RecordAsync(context, deniedType, refused, agent: null, unauthenticated: true);
            return (null, refused.Error);
        }

        var (credentials, malformed) = ClientAuthenticationReader.Read(context.Request, form);
        if (credentials is null)
        {
            await refusals.RecordAsync(context, deniedType, malformed!, agent: null, unauthenticated: true);
            return (null, malformed!.Error);
        }

        var result = await clients.AuthenticateAsync(credentials, context.RequestAborted);
        if (result.Throttled)
        {
            // Counted and recorded by the rate limit, not one event each.
            return (null, result.Error);
        }

        if (!result.Succeeded)
        {
            // A failed authentication is counted by the client authentication limits, not as a refused request.
            await refusals.RecordAsync(context, deniedType, result.Refusal!, result.ClaimedClientId, result.Changes);
            return (null, result.Error);
        }

        // A spent assertion is recorded durably, or the request fails: replay must stay impossible after a restart.
        if (result.Assertion is not null)
        {
            await audit.AppendAsync(new AuditRecord
            {
                Type = AuditTypes.ClientAuthenticated,
                Outcome = AuditOutcomes.Allowed,
                Agent = result.Agent!.Id,
                Reason = $"private_key_jwt at {context.Request.Path}",
                RequestId = context.TraceIdentifier,
            }, result.Changes, context.RequestAborted);
        }

        return (OAuthCaller.ForAgent(result.Agent!), null);
    }
}
