using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Audit;
using Tessera.Core.Cluster;
using Tessera.Core.Configuration;

namespace Tessera.Server.Hosting;

internal static class HealthEndpoints
{
    /// <summary>The response header of <c>/readyz</c> naming the running configuration's hash.</summary>
    public const string ConfigHashHeader = "Tessera-Config-Hash";

    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n"));

        // Ready only when start-up finished and the audit log can commit: without it every action fails closed.
        // And, one node of several, only while it is current with the others (ClusterFreshness).
        // Either way it names the running configuration's hash (a header and a second line), so a load
        // balancer's or an operator's probe of each node shows whether they all run the same file.
        app.MapGet("/readyz", (HttpContext context, Readiness readiness, AuditLog audit, ClusterFreshness freshness, LiveConfig live) =>
        {
            var hash = live.Current.Hash;
            context.Response.Headers[ConfigHashHeader] = hash;
            return readiness.IsReady && audit.IsHealthy && freshness.IsCurrent
                ? Results.Text($"ready\nconfig {hash}\n")
                : Results.Text($"{(!readiness.IsReady ? "starting" : !audit.IsHealthy ? "audit log failing" : "not current with the other nodes")}\nconfig {hash}\n", statusCode: 503);
        });
    }
}
