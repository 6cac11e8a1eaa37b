using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Posture;
using Tessera.Server.Hosting;

namespace Tessera.Server.Admin;

/// <summary><c>GET /admin/v1/posture</c> (docs/posture.md): every agent's reach and use, and the findings; what <c>tessera posture</c> shows.</summary>
internal static class PostureEndpoints
{
    public static void Map(RouteGroupBuilder admin) => admin.MapGet("/posture", ReportAsync);

    private static async Task<JsonHttpResult<PostureView>> ReportAsync(HttpContext context, PostureService posture, AdminAudit audit)
    {
        await audit.RecordReadAsync(context);
        var report = await posture.ReportAsync(context.RequestAborted);
        TesseraMetrics.SetPostureFindings(report);
        return TypedResults.Json(PostureView.Of(report), AdminJson.Options);
    }
}
