using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Protocol;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Server.Hosting;

namespace Tessera.Server.Admin;

/// <summary>Agents under <c>/admin/v1/agents</c>: list them, stop and restart their issuance.</summary>
internal static class AgentEndpoints
{
    public static void Map(RouteGroupBuilder admin)
    {
        admin.MapGet("/agents", ListAsync);
        admin.MapPost("/agents/{id}/suspend", (HttpContext c, string id, LiveConfig a, SuspendedAgents s) => SetSuspendedAsync(c, id, suspend: true, a.Current.Agents, s));
        admin.MapPost("/agents/{id}/resume", (HttpContext c, string id, LiveConfig a, SuspendedAgents s) => SetSuspendedAsync(c, id, suspend: false, a.Current.Agents, s));
    }

    private static async Task<JsonHttpResult<AgentList>> ListAsync(HttpContext context, LiveConfig live, SuspendedAgents suspended, TimeProvider time, AdminAudit audit)
    {
        await audit.RecordReadAsync(context);
        var now = time.GetUtcNow();
        var items = live.Current.Agents.All.OrderBy(a => a.Id, StringComparer.Ordinal).Select(a => new AgentView(
            a.Id, a.Owner, a.Purpose, AuditEvent.FormatTime(a.Expires), AgentStatus.Of(a, suspended.IsSuspended(a.Id), now),
            a.AuthMethods, [.. a.AllowedScopes], a.MaxTtl is { } ttl ? Durations.Format(ttl) : null, [.. a.MayDelegateTo.Order(StringComparer.Ordinal)])
        {
            DaysLeft = AgentStatus.DaysLeft(a, now),
            StaticSecret = a.HasStaticSecret,
            ClientSecrets = a.HasStaticSecret
                ? [.. a.Secrets.Select(s => new ClientSecretView(s.Expires is { } at ? AuditEvent.FormatTime(at) : null, AgentStatus.Of(s, now)))]
                : null,
            Federated = a.Federated is { } f ? new FederatedView(f.Idp, f.Sub) : null,
        }).ToList();
        return TypedResults.Json(new AgentList(items), AdminJson.Options);
    }

    private static async Task<Results<JsonHttpResult<AgentStateView>, ProblemHttpResult>> SetSuspendedAsync(HttpContext context, string id, bool suspend,
        AgentRegistry agents, SuspendedAgents suspended)
    {
        if (agents.Find(id) is null)
        {
            return AdminProblem.NotFound(context, RefusalCodes.AdminAgentUnknown, $"No agent '{DisplayText.Clip(id, 64)}' is configured.");
        }

        await suspended.SetAsync(id, suspend, AdminCaller.Of(context).Name, context.TraceIdentifier, context.RequestAborted);
        TesseraMetrics.AdminRequests.WithLabels("allowed").Inc();
        return TypedResults.Json(new AgentStateView(id, suspend ? AgentStatus.Suspended : AgentStatus.Active), AdminJson.Options);
    }
}
