using Microsoft.AspNetCore.Http;
using Tessera.Core.Approvals;
using Tessera.Core.Audit;
using Tessera.Core.Identity;
using Tessera.Core.Limits;

namespace Tessera.Server.Admin;

/// <summary>Admits admin API callers: a bearer token of an admin. Refusals are RFC 9457 problems and audited.</summary>
internal sealed class AdminGate(AdminAuthenticator admins, AuditLog audit, ApprovalService approvals, RateLimits limits)
{
    /// <summary>
    /// Admits the approval routes' callers: admins and members of any approver group. Which
    /// approvals one may decide is <see cref="ApprovalService"/>'s decision, not the gate's.
    /// </summary>
    public async Task<(Approver? Caller, bool IsAdmin, IResult? Refusal)> AuthorizeApproverAsync(HttpContext context)
    {
        var (caller, isAdmin, reason) = await admins.IdentifyAsync(Bearer(context), context.RequestAborted);
        if (caller is not null && (isAdmin || approvals.IsApprover(caller)))
        {
            return (caller, isAdmin, null);
        }

        return (null, false, await RefuseAsync(context, reason ?? $"{caller!.Name} is neither an admin nor an approver", forbidden: caller is not null,
            "This identity is neither an admin nor a member of an approver group."));
    }

    private static string? Bearer(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    public async Task<(string? Admin, IResult? Refusal)> AuthorizeAsync(HttpContext context)
    {
        var (admin, reason, forbidden) = await admins.AuthenticateAsync(Bearer(context), context.RequestAborted);
        if (admin is not null)
        {
            return (admin, null);
        }

        return (null, await RefuseAsync(context, reason, forbidden, "This identity is not an admin."));
    }

    private async Task<IResult> RefuseAsync(HttpContext context, string? reason, bool forbidden, string forbiddenDetail)
    {
        await audit.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.AdminDenied,
            Outcome = AuditOutcomes.Denied,
            Reason = $"{context.Request.Method} {context.Request.Path}: {reason}",
            RequestId = context.TraceIdentifier,
        }, cancellationToken: context.RequestAborted);
        Hosting.TesseraMetrics.AdminRequests.WithLabels("denied").Inc();

        // Each refusal counts against its source: a flood of them is cut off by the rate limits (429).
        limits.Refused(SourceAddress.From(context.Connection.RemoteIpAddress));
        if (forbidden)
        {
            return Results.Problem(statusCode: 403, title: "Forbidden", detail: forbiddenDetail);
        }

        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"tessera-admin\"";
        return Results.Problem(statusCode: 401, title: "Unauthorized", detail: "Send an admin's bearer token (the bootstrap token from data_dir/admin.token, or an identity provider JWT of a configured admin or approver).");
    }
}
