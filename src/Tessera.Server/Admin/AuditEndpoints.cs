using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Protocol;
using Tessera.Core.Audit;
using Tessera.Core.Storage;

namespace Tessera.Server.Admin;

/// <summary>
/// The audit log under <c>/admin/v1/audit</c>: events by filter, in pages of <c>limit</c> after a
/// cursor (<see cref="AuditCursor"/>): a sequence number on a store of one chain, a token of every
/// node's sequence number on a store of one chain per node.
/// </summary>
internal static class AuditEndpoints
{
    public static void Map(RouteGroupBuilder admin) => admin.MapGet("/audit", QueryAsync);

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> QueryAsync(HttpContext context, IAuditStore store, AdminAudit audit, TimeProvider time)
    {
        if (!AuditFilter.TryParse(context.Request.Query, store.Node is not null, time.GetUtcNow(), AuditFilter.DefaultLimit, out var query, out var after, out var error))
        {
            return AdminProblem.BadRequest(context, RefusalCodes.AdminQueryInvalid, error!);
        }

        // The read is recorded after the query, so a page never holds its own admin.read.
        var events = await store.QueryAsync(query, context.RequestAborted);
        await audit.RecordReadAsync(context);

        // Events are written as they are stored (AuditEvent.WriteTo), straight into the response.
        context.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(context.Response.BodyWriter);
        w.WriteStartObject();
        w.WriteStartArray("events");
        foreach (var e in events)
        {
            e.WriteTo(w);
        }

        w.WriteEndArray();
        if (AuditFilter.NextAfter(after, events, query.Limit) is { } next)
        {
            // A store of one chain pages by a number, one of a chain per node by a token.
            if (after.ByNode is null)
            {
                w.WriteNumber("next_after", long.Parse(next, System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                w.WriteString("next_after", next);
            }
        }

        w.WriteEndObject();
        await w.FlushAsync(context.RequestAborted);
        return TypedResults.Empty;
    }
}
