using Microsoft.AspNetCore.Http;
using Tessera.Core.Audit;
using Tessera.Core.Identity;
using Tessera.Core.Limits;
using Tessera.Core.Protocol;
using Tessera.Core.Tokens;

namespace Tessera.Server.OAuth;

/// <summary>
/// Authenticates callers of introspection and revocation: an admin's bearer token, or client
/// authentication as at the token endpoint. No authentication at all is a 401.
/// </summary>
internal sealed class CallerAuthenticator(ClientAuthenticator clients, AdminAuthenticator admins, AuditLog audit, RateLimits limits)
{
    public async Task<(IntrospectionCaller? Caller, OAuthError? Error)> AuthenticateAsync(HttpContext context, OAuthForm form, string deniedType)
    {
        var header = context.Request.Headers.Authorization.ToString();
        string? claimed;
        string reason;
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var (admin, adminReason, _) = await admins.AuthenticateAsync(header["Bearer ".Length..].Trim(), context.RequestAborted);
            if (admin is not null)
            {
                return (IntrospectionCaller.ForAdmin(admin), null);
            }

            claimed = null;
            reason = $"admin bearer refused: {adminReason}";

            // A refused bearer is an unauthenticated request: it counts against its source's allowance.
            limits.Refused(SourceAddress.From(context.Connection.RemoteIpAddress));
        }
        else
        {
            var (credentials, error) = ClientCredentialsReader.Read(context.Request, form);
            if (credentials is null)
            {
                return (null, error);
            }

            var result = await clients.AuthenticateAsync(credentials, context.RequestAborted);
            if (result.Throttled)
            {
                // Counted and recorded by the rate limit, not one event each.
                return (null, result.Error);
            }

            if (result.Succeeded)
            {
                // A spent assertion is recorded durably, or the request fails: replay must stay impossible after a restart.
                if (result.Assertion is not null)
                {
                    try
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
                    catch (AuditWriteException)
                    {
                        return (null, OAuthError.ServerError);
                    }
                }

                return (IntrospectionCaller.ForAgent(result.Agent!), null);
            }

            claimed = result.ClaimedClientId;
            reason = result.Reason!;
            if (result.Error != OAuthError.InvalidClient)
            {
                await RecordAsync(claimed, reason, deniedType, context, result.Changes);
                return (null, result.Error);
            }
        }

        await RecordAsync(claimed, reason, deniedType, context);
        return (null, OAuthError.InvalidClient);
    }

    private async Task RecordAsync(string? agent, string reason, string type, HttpContext context, IReadOnlyList<Core.Storage.StateChange>? changes = null)
    {
        try
        {
            await audit.AppendAsync(new AuditRecord
            {
                Type = type,
                Outcome = AuditOutcomes.Denied,
                Agent = agent,
                Reason = reason,
                RequestId = context.TraceIdentifier,
            }, changes ?? [], context.RequestAborted);
        }
        catch (AuditWriteException)
        {
            // The caller is refused either way; the failure is logged by the audit writer.
        }
    }
}
