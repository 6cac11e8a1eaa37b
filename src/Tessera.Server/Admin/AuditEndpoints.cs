using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Protocol;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
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
        var q = context.Request.Query;
        foreach (var (key, values) in q)
        {
            if (values.Count > 1)
            {
                return AdminProblem.BadRequest(context, RefusalCodes.AdminQueryInvalid, $"The query parameter '{DisplayText.Clip(key, 64)}' is given more than once.");
            }
        }

        DateTimeOffset? since = null;
        if (q.TryGetValue("since", out var sinceText) && !string.IsNullOrEmpty(sinceText))
        {
            if (!TimeArguments.TryParseSince(sinceText!, time.GetUtcNow(), out var parsed))
            {
                return AdminProblem.BadRequest(context, RefusalCodes.AdminQueryInvalid, "'since' must be an RFC 3339 time or a duration such as 1h.");
            }

            since = parsed;
        }

        var chainPerNode = store.Node is not null;
        var after = AuditCursor.Start;
        if (q.TryGetValue("after", out var afterText) && (!AuditCursor.TryParse(afterText.ToString(), out after) || (after.ByNode is not null && !chainPerNode)))
        {
            return AdminProblem.BadRequest(context, RefusalCodes.AdminQueryInvalid,
                chainPerNode ? "'after' must be the next_after of the previous page." : "'after' must be a sequence number.");
        }

        if (chainPerNode && after.ByNode is null)
        {
            // A sequence number names a place in one chain only; 0 (the first page) is every chain's start.
            if (after.AfterSeq != 0)
            {
                return AdminProblem.BadRequest(context, RefusalCodes.AdminQueryInvalid, "'after' must be the next_after of the previous page.");
            }

            after = new AuditCursor(0, new Dictionary<string, long>(StringComparer.Ordinal));
        }

        var limit = 1000;
        if (q.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 10_000))
        {
            return AdminProblem.BadRequest(context, RefusalCodes.AdminQueryInvalid, "'limit' must be from 1 to 10000.");
        }

        var query = new AuditQuery
        {
            Agent = Value("agent"),
            Principal = Value("principal"),
            Mission = Value("mission"),
            Tool = Value("tool"),
            Type = Value("type"),
            Since = since,
            AfterSeq = after.AfterSeq,
            AfterByNode = after.ByNode,
            Limit = limit,
        };

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
        if (events.Count == limit)
        {
            var next = after.After(events);
            if (next.ByNode is null)
            {
                w.WriteNumber("next_after", next.AfterSeq);
            }
            else
            {
                w.WriteString("next_after", next.Format());
            }
        }

        w.WriteEndObject();
        await w.FlushAsync(context.RequestAborted);
        return TypedResults.Empty;

        string? Value(string name) => q.TryGetValue(name, out var v) && !string.IsNullOrEmpty(v) ? v.ToString() : null;
    }
}
