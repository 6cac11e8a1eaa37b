using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Audit;
using Tessera.Core.Cluster;
using Tessera.Core.Configuration;
using Tessera.Core.Protocol;
using Tessera.Server.Hosting;

namespace Tessera.Server.Admin;

/// <summary>
/// <c>POST /admin/v1/config/reload</c> and <c>GET /admin/v1/status</c> (docs/operations.md,
/// "Reloading the configuration"): the decision is Core's (<see cref="ConfigReloader"/>), which
/// records <c>config.reloaded</c> or <c>config.refused</c>; this translates it into HTTP.
/// </summary>
internal static class ConfigEndpoints
{
    public static void Map(RouteGroupBuilder admin)
    {
        admin.MapPost("/config/reload", ReloadAsync);
        admin.MapGet("/status", StatusAsync);
    }

    private static async Task<Results<JsonHttpResult<ConfigReloadView>, ProblemHttpResult>> ReloadAsync(HttpContext context, ConfigReloader reloader)
    {
        var outcome = await reloader.ReloadAsync(AdminCaller.Of(context).Name, context.TraceIdentifier, context.RequestAborted);
        if (!outcome.Reloaded)
        {
            // Core has recorded config.refused with the code; an invalid file is content the server
            // understood and cannot apply (422), the others conflict with what runs (409).
            return outcome.Code == RefusalCodes.ConfigInvalid
                ? AdminProblem.Refuse(context, 422, "Invalid configuration", outcome.Code, outcome.Problem!, audited: true)
                : AdminProblem.Conflict(context, outcome.Code!, outcome.Problem!, audited: true);
        }

        TesseraMetrics.AdminRequests.WithLabels("allowed").Inc();
        return TypedResults.Json(new ConfigReloadView(true, outcome.Hash, outcome.PreviousHash, outcome.Changes, outcome.Warnings), AdminJson.Options);
    }

    private static async Task<JsonHttpResult<StatusView>> StatusAsync(HttpContext context, LiveConfig live, NodeStatus nodes, Readiness readiness, AuditLog audit, AdminAudit admin)
    {
        await admin.RecordReadAsync(context);
        var running = live.Current;
        var seen = await nodes.ListAsync(context.RequestAborted);
        var view = new StatusView(nodes.Node, readiness.IsReady && audit.IsHealthy,
            new RunningConfigView(running.Hash, AuditEvent.FormatTime(running.LoadedAt), running.Config.SourcePath),
            [.. seen.Select(n => new NodeView(n.Node, n.ConfigHash, AuditEvent.FormatTime(n.LoadedAt), AuditEvent.FormatTime(n.SeenAt)))],
            NodeConfig.ConfigurationsRun(seen) <= 1);
        return TypedResults.Json(view, AdminJson.Options);
    }
}
