using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Audit;
using Tessera.Core.Cluster;

namespace Tessera.Server.Hosting;

internal static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n"));

        // Ready only when start-up finished and the audit log can commit: without it every action fails closed.
        // And, one node of several, only while it is current with the others (ClusterFreshness).
        app.MapGet("/readyz", (Readiness readiness, AuditLog audit, ClusterFreshness freshness) =>
            readiness.IsReady && audit.IsHealthy && freshness.IsCurrent
                ? Results.Text("ready\n")
                : Results.Text(!readiness.IsReady ? "starting\n" : !audit.IsHealthy ? "audit log failing\n" : "not current with the other nodes\n", statusCode: 503));
    }
}
