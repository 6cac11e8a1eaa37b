using Microsoft.AspNetCore.Http;
using Tessera.Core.Audit;
using Tessera.Core.Identity;

namespace Tessera.Server.Admin;

/// <summary>Admits admin API callers: a bearer token of an admin. Refusals are RFC 9457 problems and audited.</summary>
internal sealed class AdminGate(AdminAuthenticator admins, AuditLog audit)
{
    public async Task<(string? Admin, IResult? Refusal)> AuthorizeAsync(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var bearer = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
        var (admin, reason, forbidden) = await admins.AuthenticateAsync(bearer, context.RequestAborted);
        if (admin is not null)
        {
            return (admin, null);
        }

        await audit.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.AdminDenied,
            Outcome = AuditOutcomes.Denied,
            Reason = $"{context.Request.Method} {context.Request.Path}: {reason}",
            RequestId = context.TraceIdentifier,
        }, cancellationToken: context.RequestAborted);
        Hosting.TesseraMetrics.AdminRequests.WithLabels("denied").Inc();
        if (forbidden)
        {
            return (null, Results.Problem(statusCode: 403, title: "Forbidden", detail: "This identity is not an admin."));
        }

        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"tessera-admin\"";
        return (null, Results.Problem(statusCode: 401, title: "Unauthorized", detail: "Send an admin's bearer token (the bootstrap token from data_dir/admin.token, or an identity provider JWT of a configured admin)."));
    }
}
