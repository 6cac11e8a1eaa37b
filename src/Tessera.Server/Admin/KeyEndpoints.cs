using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Audit;
using Tessera.Core.Tokens;
using Tessera.Server.Hosting;

namespace Tessera.Server.Admin;

/// <summary>Signing keys under <c>/admin/v1/keys</c>: list them with their status, rotate to a new one.</summary>
internal static class KeyEndpoints
{
    public static void Map(RouteGroupBuilder admin)
    {
        admin.MapGet("/keys", ListAsync);
        admin.MapPost("/keys/rotate", RotateAsync);
    }

    private static async Task<JsonHttpResult<KeyList>> ListAsync(HttpContext context, SigningKeyService keys, AdminAudit audit, TimeProvider time)
    {
        await audit.RecordReadAsync(context);
        var now = time.GetUtcNow();
        var ring = keys.Ring;
        var items = ring.Keys.Select(k => View(k, SigningKeyStatus.Of(ring, k, now))).ToList();
        return TypedResults.Json(new KeyList(items), AdminJson.Options);
    }

    private static async Task<JsonHttpResult<KeyView>> RotateAsync(HttpContext context, SigningKeyService keys)
    {
        var key = await keys.RotateAsync(AdminCaller.Of(context).Name, context.TraceIdentifier, context.RequestAborted);
        TesseraMetrics.AdminRequests.WithLabels("allowed").Inc();
        return TypedResults.Json(View(key, SigningKeyStatus.Pending), AdminJson.Options);
    }

    private static KeyView View(SigningKey key, string status) =>
        new(key.Kid, AuditEvent.FormatTime(key.CreatedAt), AuditEvent.FormatTime(key.ActivatesAt), status);
}
