using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Audit;
using Tessera.Core.Missions;
using Tessera.Core.Posture;
using Tessera.Core.Protocol;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;
using Tessera.Server.Admin;
using Tessera.Server.Hosting;

namespace Tessera.Server.Console;

/// <summary>
/// The console's admin-only pages (docs/console.md): missions with their kill switch, and the posture
/// report. The same Core calls and audit as <c>GET /admin/v1/missions</c>, <c>POST /admin/v1/revocations</c>
/// (kind mission) and <c>GET /admin/v1/posture</c>; these handlers only translate.
/// </summary>
internal static class ConsoleMissionEndpoints
{
    public static void Map(RouteGroupBuilder console)
    {
        console.MapGet("/missions", MissionsAsync);
        console.MapPost("/missions/{id}/revoke", RevokeAsync);
        console.MapGet("/posture", PostureAsync);
    }

    private static async Task<IResult> MissionsAsync(HttpContext context, ConsoleSession session, IMissionStore missions, IAuditStore auditStore,
        RevocationIndex revocations, AdminAudit audit, TimeProvider time)
    {
        var (user, refusal) = await AdmitAdminAsync(context, session, audit, "Missions are shown to admins only.");
        if (user is null)
        {
            return refusal!;
        }

        await audit.RecordReadAsync(context);
        return await MissionsPageAsync(context, user, missions, auditStore, revocations, time, error: null, StatusCodes.Status200OK);
    }

    /// <summary>The mission's kill switch: what <c>POST /admin/v1/revocations {"kind": "mission"}</c> does, by the signed-in admin.</summary>
    private static async Task<IResult> RevokeAsync(HttpContext context, string id, ConsoleSession session, RevocationService revocationService, IMissionStore missions,
        IAuditStore auditStore, RevocationIndex revocations, AdminAudit audit, TimeProvider time, IAntiforgery antiforgery)
    {
        var current = session.Current(context);
        if (current is null)
        {
            return ConsoleEndpoints.SeeOther(context, ConsoleEndpoints.SignInPath);
        }

        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return await ConsoleEndpoints.RefuseFormAsync(context, current.Name);
        }

        var (user, refusal) = await AdmitAdminAsync(context, session, audit, "Only admins revoke missions.");
        if (user is null)
        {
            return refusal!;
        }

        // A typo or a stale page must not look like a revocation: name only missions that exist.
        if (id.Length > 256 || await missions.FindAsync(id, context.RequestAborted) is null)
        {
            await audit.RecordRefusalAsync(context, RefusalCodes.AdminMissionUnknown, $"No mission '{DisplayText.Clip(id, 64)}' is known.", user.Name);
            return await MissionsPageAsync(context, user, missions, auditStore, revocations, time, "No such mission is known.", StatusCodes.Status404NotFound);
        }

        await revocationService.RevokeAsync(RevocationKind.Mission, id, user.Name, context.TraceIdentifier, context.RequestAborted);
        TesseraMetrics.Revocations.WithLabels("mission").Inc();
        return ConsoleEndpoints.SeeOther(context, "/console/missions");
    }

    private static async Task<IResult> PostureAsync(HttpContext context, ConsoleSession session, PostureService posture, AdminAudit audit)
    {
        var (user, refusal) = await AdmitAdminAsync(context, session, audit, "The posture report is shown to admins only.");
        if (user is null)
        {
            return refusal!;
        }

        await audit.RecordReadAsync(context);
        var report = await posture.ReportAsync(context.RequestAborted);
        TesseraMetrics.SetPostureFindings(report);
        return ConsoleEndpoints.Page<PosturePage>(context, user, StatusCodes.Status200OK, new()
        {
            [nameof(PosturePage.Report)] = report,
        });
    }

    /// <summary>The missions started in the last day, as <c>GET /admin/v1/missions</c> lists them by default.</summary>
    private static async Task<IResult> MissionsPageAsync(HttpContext context, ConsoleUser user, IMissionStore missions, IAuditStore auditStore,
        RevocationIndex revocations, TimeProvider time, string? error, int status)
    {
        var now = time.GetUtcNow();
        var items = new List<MissionRow>();
        foreach (var m in await missions.ListAsync(now - TimeSpan.FromDays(1), 200, context.RequestAborted))
        {
            var tokens = await auditStore.CountAsync(new AuditQuery { Mission = m.Id, Type = AuditTypes.TokenExchanged }, context.RequestAborted);
            items.Add(new MissionRow(m, MissionStatus.Of(m, revocations, now), tokens));
        }

        return ConsoleEndpoints.Page<MissionsPage>(context, user, status, new()
        {
            [nameof(MissionsPage.Missions)] = items,
            [nameof(MissionsPage.Error)] = error,
        });
    }

    /// <summary>Signed in and an admin, admitted as the admin API's caller; otherwise the sign-in redirect or the 403 page, recorded.</summary>
    private static async Task<(ConsoleUser? User, IResult? Refusal)> AdmitAdminAsync(HttpContext context, ConsoleSession session, AdminAudit audit, string message)
    {
        var user = session.Current(context);
        if (user is null)
        {
            return (null, TypedResults.Redirect(ConsoleEndpoints.SignInPath));
        }

        if (!user.IsAdmin)
        {
            await audit.RecordRefusalAsync(context, RefusalCodes.AdminNotAdmin, $"{user.Name} is not an admin", user.Name);
            return (null, ConsoleEndpoints.Page<MessagePage>(context, user, StatusCodes.Status403Forbidden, new()
            {
                [nameof(MessagePage.Title)] = "Admins only",
                [nameof(MessagePage.Message)] = message + " As an approver you can decide approvals.",
            }));
        }

        ConsoleEndpoints.Admit(context, user);
        return (user, null);
    }
}
