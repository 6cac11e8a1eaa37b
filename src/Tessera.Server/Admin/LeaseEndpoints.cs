using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Audit;
using Tessera.Core.Leases;
using Tessera.Core.Protocol;

namespace Tessera.Server.Admin;

/// <summary>
/// Database leases under <c>/admin/v1/leases</c>: the list (live ones, or all recent with <c>all=true</c>),
/// and ending one now (<c>POST /admin/v1/leases/{id}/revoke</c>, <c>{"force": true}</c> to close the
/// record even when the database cannot be reached). Never a password: Tessera does not keep it.
/// </summary>
internal static class LeaseEndpoints
{
    public static void Map(RouteGroupBuilder admin)
    {
        admin.MapGet("/leases", ListAsync);
        admin.MapPost("/leases/{id}/revoke", RevokeAsync).WithMetadata(AdminBody.Default);
    }

    private static async Task<Results<JsonHttpResult<LeaseList>, ProblemHttpResult>> ListAsync(HttpContext context, LeaseService leases, AdminAudit audit)
    {
        var q = context.Request.Query;
        var all = false;
        if (q.TryGetValue("all", out var allText) && (allText.Count != 1 || !bool.TryParse(allText, out all)))
        {
            return AdminProblem.BadRequest(context, RefusalCodes.AdminQueryInvalid, "'all' must be true or false.");
        }

        var limit = 200;
        if (q.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 1000))
        {
            return AdminProblem.BadRequest(context, RefusalCodes.AdminQueryInvalid, "'limit' must be from 1 to 1000.");
        }

        await audit.RecordReadAsync(context);
        var items = (await leases.ListAsync(all, limit, context.RequestAborted)).Select(View).ToList();
        return TypedResults.Json(new LeaseList(items), AdminJson.Options);
    }

    private static async Task<Results<JsonHttpResult<LeaseView>, ProblemHttpResult>> RevokeAsync(HttpContext context, string id, LeaseService leases)
    {
        var force = false;
        if (AdminBody.IsPresent(context.Request))
        {
            var (body, problem) = await AdminBody.ReadObjectAsync<LeaseRevokeRequest>(context, "{\"force\": true} or no body");
            if (problem is not null)
            {
                return problem;
            }

            force = body?.Force ?? false;
        }

        var end = await leases.RevokeAsync(id, AdminCaller.Of(context).Name, force, context.TraceIdentifier, context.RequestAborted);
        if (end is null)
        {
            return AdminProblem.NotFound(context, RefusalCodes.LeaseUnknown, $"No lease '{DisplayText.Clip(id, 64)}' is known.");
        }

        // Not ended: the database could not be reached or refused; the lease is retried with backoff.
        return end.Ended
            ? TypedResults.Json(View(end.Lease), AdminJson.Options)
            : AdminProblem.Refuse(context, 502, "The database did not end the lease", RefusalCodes.LeaseRevokeFailed,
                $"Ending lease {end.Lease.Id} failed: {end.Error} It is retried with backoff; force it closed with {{\"force\": true}} if the database is gone.", audited: true);
    }

    internal static LeaseView View(Lease l) => new(l.Id, l.Tool, l.Username, Status(l.Status), l.Agent, l.Principal, l.ActorChain, l.Mission, l.Purpose, l.Scopes,
        AuditEvent.FormatTime(l.CreatedAt), AuditEvent.FormatTime(l.ExpiresAt), l.EndedAt is { } ended ? AuditEvent.FormatTime(ended) : null, l.EndReason,
        l.Attempts, l.NextAttemptAt is { } next ? AuditEvent.FormatTime(next) : null, l.LastError, l.Node);

    private static string Status(LeaseStatus status) => status.ToString().ToLowerInvariant();
}
