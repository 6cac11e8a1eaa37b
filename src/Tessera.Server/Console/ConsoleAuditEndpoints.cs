using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Tessera.Core.Audit;
using Tessera.Core.Protocol;
using Tessera.Core.Storage;
using Tessera.Server.Admin;

namespace Tessera.Server.Console;

/// <summary>
/// <c>/console/audit</c> (admins): the audit log through the same query rules (<see cref="AuditFilter"/>),
/// store and audit as <c>GET /admin/v1/audit</c>, and the chain verified on demand by the verifier
/// <c>tessera audit verify</c> uses.
/// </summary>
internal static class ConsoleAuditEndpoints
{
    /// <summary>Rows per page: a screenful, where the API's default of 1000 would be a long page.</summary>
    private const int PageSize = 50;

    private static readonly string[] FilterNames = ["agent", "principal", "mission", "tool", "type", "since"];

    public static void Map(RouteGroupBuilder console)
    {
        console.MapGet("/audit", QueryAsync);
        console.MapPost("/audit/verify", VerifyAsync);
    }

    private static async Task<IResult> QueryAsync(HttpContext context, ConsoleSession session, IAuditStore store, AdminAudit audit, TimeProvider time)
    {
        if (await AdmitAdminAsync(context, session, audit) is not { } user)
        {
            return Refused(context, session);
        }

        var filter = FilterNames
            .Where(n => context.Request.Query.TryGetValue(n, out var v) && v.Count == 1 && !string.IsNullOrEmpty(v))
            .ToDictionary(n => n, n => context.Request.Query[n].ToString(), StringComparer.Ordinal);
        if (!AuditFilter.TryParse(context.Request.Query, store.Node is not null, time.GetUtcNow(), PageSize, out var query, out var after, out var error))
        {
            await audit.RecordRefusalAsync(context, RefusalCodes.AdminQueryInvalid, error, user.Name);
            return Page(context, user, StatusCodes.Status400BadRequest, filter, store, [], null, error, null);
        }

        // The read is recorded after the query, so a page never holds its own admin.read (as at the API).
        var events = await store.QueryAsync(query, context.RequestAborted);
        await audit.RecordReadAsync(context);
        var next = AuditFilter.NextAfter(after, events, query.Limit) is { } cursor
            ? QueryHelpers.AddQueryString("/console/audit", [.. filter.Select(f => new KeyValuePair<string, string?>(f.Key, f.Value)), new("after", cursor)])
            : null;
        return Page(context, user, StatusCodes.Status200OK, filter, store, events, next, null, null);
    }

    /// <summary>
    /// Verifies on demand (a button, a POST with antiforgery): verifying reads and hashes every event of
    /// the log, too slow for every view of a large log. Shows the first page with the result.
    /// </summary>
    private static async Task<IResult> VerifyAsync(HttpContext context, ConsoleSession session, IAuditStore store, AdminAudit audit, IAntiforgery antiforgery)
    {
        var signedIn = session.Current(context);
        if (signedIn is not null && !await antiforgery.IsRequestValidAsync(context))
        {
            return await ConsoleEndpoints.RefuseFormAsync(context, signedIn.Name);
        }

        if (await AdmitAdminAsync(context, session, audit) is not { } user)
        {
            return Refused(context, session);
        }

        var verification = await AuditVerifier.VerifyAllAsync(store, context.RequestAborted);
        var events = await store.QueryAsync(new AuditQuery { Limit = PageSize, AfterByNode = store.Node is null ? null : new Dictionary<string, long>(StringComparer.Ordinal) }, context.RequestAborted);
        await audit.RecordReadAsync(context);
        var start = store.Node is null ? AuditCursor.Start : new AuditCursor(0, new Dictionary<string, long>(StringComparer.Ordinal));
        var next = AuditFilter.NextAfter(start, events, PageSize) is { } cursor ? QueryHelpers.AddQueryString("/console/audit", "after", cursor) : null;
        return Page(context, user, StatusCodes.Status200OK, new Dictionary<string, string>(), store, events, next, null, verification);
    }

    /// <summary>The signed-in admin, admitted as the admin API's caller; null (an approver's refusal audited) otherwise.</summary>
    private static async Task<ConsoleUser?> AdmitAdminAsync(HttpContext context, ConsoleSession session, AdminAudit audit)
    {
        var user = session.Current(context);
        if (user is null)
        {
            return null;
        }

        if (!user.IsAdmin)
        {
            await audit.RecordRefusalAsync(context, RefusalCodes.AdminNotAdmin, $"{user.Name} is not an admin", user.Name);
            return null;
        }

        ConsoleEndpoints.Admit(context, user);
        return user;
    }

    private static IResult Refused(HttpContext context, ConsoleSession session) =>
        session.Current(context) is { } user
            ? ConsoleEndpoints.Page<MessagePage>(context, user, StatusCodes.Status403Forbidden, new()
            {
                [nameof(MessagePage.Title)] = "Admins only",
                [nameof(MessagePage.Message)] = "The audit log is shown to admins only. As an approver you can decide approvals.",
            })
            : TypedResults.Redirect("/console/sign-in");

    private static RazorComponentResult<AuditPage> Page(HttpContext context, ConsoleUser user, int status, IReadOnlyDictionary<string, string> filter, IAuditStore store, IReadOnlyList<AuditEvent> events, string? next, string? error, IReadOnlyList<ChainVerification>? verification) =>
        ConsoleEndpoints.Page<AuditPage>(context, user, status, new()
        {
            [nameof(AuditPage.Filter)] = filter,
            [nameof(AuditPage.Events)] = events,
            [nameof(AuditPage.ChainPerNode)] = store.Node is not null,
            [nameof(AuditPage.NextHref)] = next,
            [nameof(AuditPage.Error)] = error,
            [nameof(AuditPage.Verification)] = verification,
        });
}
