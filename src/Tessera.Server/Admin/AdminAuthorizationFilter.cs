using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Tessera.Core.Approvals;
using Tessera.Core.Identity;
using Tessera.Core.Limits;
using Tessera.Core.Protocol;
using Tessera.Server.Hosting;

namespace Tessera.Server.Admin;

/// <summary>
/// Admits the callers of every admin route before its handler runs: a bearer token of an admin, or
/// on a route whose <see cref="AdminAccess"/> admits approvers, of a member of any approver group.
/// The admitted caller becomes the request's <see cref="AdminCaller"/>; a refusal is an RFC 9457
/// problem (401, or 403 for an identity without the right), audited and counted against its source.
/// A refusal by the route's handler (an <see cref="AdminRefusal"/> that Core did not record) is
/// recorded here, with the caller, before it is answered.
/// </summary>
internal sealed class AdminAuthorizationFilter(AdminAuthenticator admins, ApprovalService approvals, AdminAudit audit, RateLimits limits) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var access = http.GetEndpoint()?.Metadata.GetMetadata<AdminAccess>() ?? AdminAccess.Admins;
        var (caller, refusal) = access.AdmitsApprovers ? await AdmitApproverAsync(http) : await AdmitAdminAsync(http);
        if (caller is null)
        {
            return refusal;
        }

        http.Features.Set(caller);
        var result = await next(context);

        // Fail closed: an AuditWriteException is not caught, and the refusal is never answered unrecorded.
        if (http.Features.Get<AdminRefusal>() is { Audited: false } refused)
        {
            await audit.RecordRefusalAsync(http, refused.Code, refused.Reason, caller.Name);
        }

        return result;
    }

    private async Task<(AdminCaller? Caller, ProblemHttpResult? Refusal)> AdmitAdminAsync(HttpContext context)
    {
        var (admin, reason, code) = await admins.AuthenticateAsync(Bearer(context), context.RequestAborted);
        return admin is not null
            ? (new AdminCaller(admin, IsAdmin: true, Approver: null), null)
            : (null, await RefuseAsync(context, code!, reason, forbidden: code == RefusalCodes.AdminNotAdmin, "This identity is not an admin."));
    }

    private async Task<(AdminCaller? Caller, ProblemHttpResult? Refusal)> AdmitApproverAsync(HttpContext context)
    {
        var (caller, isAdmin, reason, code) = await admins.IdentifyAsync(Bearer(context), context.RequestAborted);
        if (caller is not null && (isAdmin || approvals.IsApprover(caller)))
        {
            return (new AdminCaller(caller.Name, isAdmin, caller), null);
        }

        return (null, await RefuseAsync(context, code ?? RefusalCodes.AdminNotApprover, reason ?? $"{caller!.Name} is neither an admin nor an approver", forbidden: caller is not null,
            "This identity is neither an admin nor a member of an approver group."));
    }

    private static string? Bearer(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    private async Task<ProblemHttpResult> RefuseAsync(HttpContext context, string code, string? reason, bool forbidden, string forbiddenDetail)
    {
        await audit.RecordRefusalAsync(context, code, reason);
        TesseraMetrics.AdminRequests.WithLabels("denied").Inc();

        // Each refusal counts against its source: a flood of them is cut off by the rate limits (429).
        limits.Refused(SourceAddress.From(context.Connection.RemoteIpAddress));
        if (forbidden)
        {
            return AdminProblem.Forbidden(context, code, forbiddenDetail, audited: true);
        }

        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"tessera-admin\"";
        return TypedResults.Problem(statusCode: 401, title: "Unauthorized", detail: "Send an admin's bearer token (the bootstrap token from data_dir/admin.token, or an identity provider JWT of a configured admin or approver).");
    }
}
