using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Audit;

namespace Tessera.Server.Hosting;

internal static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n"));

        // Ready only when start-up finished and the audit log can commit: without it every action fails closed.
        app.MapGet("/readyz", (Readiness readiness, AuditLog audit) =>
            readiness.IsReady && audit.IsHealthy
                ? Results.Text("ready\n")
                : Results.Text(readiness.IsReady ? "audit log failing\n" : "starting\n", statusCode: 503));
    }
}
