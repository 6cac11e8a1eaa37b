using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Missions;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;
using Tessera.Server.Hosting;

namespace Tessera.Server.Admin;

/// <summary>The admin API under <c>/admin/v1</c>: JSON in and out, RFC 9457 problems on error.</summary>
internal static class AdminEndpoints
{
    public static void MapAdmin(this IEndpointRouteBuilder app)
    {
        // Every route's body is bounded and typed before its handler runs (AdminBodyFilter).
        var admin = app.MapGroup("/admin/v1");
        admin.AddEndpointFilter<AdminBodyFilter>();
        admin.MapGet("/agents", ListAgentsAsync);
        admin.MapPost("/agents/{id}/suspend", (HttpContext c, string id, AdminGate g, AgentRegistry a, SuspendedAgents s) => SetSuspendedAsync(c, id, true, g, a, s));
        admin.MapPost("/agents/{id}/resume", (HttpContext c, string id, AdminGate g, AgentRegistry a, SuspendedAgents s) => SetSuspendedAsync(c, id, false, g, a, s));
        admin.MapGet("/audit", QueryAuditAsync);
        admin.MapGet("/missions", ListMissionsAsync);
        admin.MapGet("/keys", ListKeysAsync);
        admin.MapPost("/keys/rotate", RotateKeysAsync);
        admin.MapPost("/revocations", RevokeAsync).WithMetadata(AdminBody.Default);
        admin.MapSecrets();
        admin.MapApprovals();
    }

    private static async Task<IResult> ListAgentsAsync(HttpContext context, AdminGate gate, AgentRegistry agents, SuspendedAgents suspended, TimeProvider time, AuditLog audit)
    {
        var (who, refusal) = await gate.AuthorizeAsync(context);
        if (refusal is not null)
        {
            return refusal;
        }

        await RecordReadAsync(audit, context, who!);
        var now = time.GetUtcNow();
        var items = agents.All.OrderBy(a => a.Id, StringComparer.Ordinal).Select(a => new AgentView(
            a.Id, a.Owner, a.Purpose, AuditEvent.FormatTime(a.Expires), AgentStatus.Of(a, suspended.IsSuspended(a.Id), now),
            a.AuthMethods, [.. a.AllowedScopes], a.MaxTtl is { } ttl ? Durations.Format(ttl) : null, [.. a.MayDelegateTo.Order(StringComparer.Ordinal)])
        {
            StaticSecret = a.HasStaticSecret,
            ClientSecrets = a.HasStaticSecret
                ? [.. a.Secrets.Select(s => new ClientSecretView(s.Expires is { } at ? AuditEvent.FormatTime(at) : null, AgentStatus.Of(s, now)))]
                : null,
            Federated = a.Federated is { } f ? new FederatedView(f.Idp, f.Sub) : null,
        }).ToList();
        return Results.Json(new AgentList(items), AdminJson.Options);
    }

    private static async Task<IResult> SetSuspendedAsync(HttpContext context, string id, bool suspend, AdminGate gate, AgentRegistry agents, SuspendedAgents suspended)
    {
        var (who, refusal) = await gate.AuthorizeAsync(context);
        if (refusal is not null)
        {
            return refusal;
        }

        if (agents.Find(id) is null)
        {
            return Results.Problem(statusCode: 404, title: "Not found", detail: $"No agent '{Clip(id)}' is configured.");
        }

        await suspended.SetAsync(id, suspend, who!, context.TraceIdentifier, context.RequestAborted);
        TesseraMetrics.AdminRequests.WithLabels("allowed").Inc();
        return Results.Json(new AgentStateView(id, suspend ? AgentStatus.Suspended : AgentStatus.Active), AdminJson.Options);
    }

    private static async Task<IResult> QueryAuditAsync(HttpContext context, AdminGate gate, IAuditStore store, AuditLog audit, TimeProvider time)
    {
        var (who, refusal) = await gate.AuthorizeAsync(context);
        if (refusal is not null)
        {
            return refusal;
        }

        var q = context.Request.Query;
        foreach (var (key, values) in q)
        {
            if (values.Count > 1)
            {
                return Results.Problem(statusCode: 400, title: "Bad request", detail: $"The query parameter '{Clip(key)}' is given more than once.");
            }
        }

        DateTimeOffset? since = null;
        if (q.TryGetValue("since", out var sinceText) && !string.IsNullOrEmpty(sinceText))
        {
            if (!TimeArguments.TryParseSince(sinceText!, time.GetUtcNow(), out var parsed))
            {
                return Results.Problem(statusCode: 400, title: "Bad request", detail: "'since' must be an RFC 3339 time or a duration such as 1h.");
            }

            since = parsed;
        }

        long after = 0;
        if (q.TryGetValue("after", out var afterText) && !long.TryParse(afterText, NumberStyles.None, CultureInfo.InvariantCulture, out after))
        {
            return Results.Problem(statusCode: 400, title: "Bad request", detail: "'after' must be a sequence number.");
        }

        var limit = 1000;
        if (q.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 10_000))
        {
            return Results.Problem(statusCode: 400, title: "Bad request", detail: "'limit' must be from 1 to 10000.");
        }

        var query = new AuditQuery
        {
            Agent = Value("agent"),
            Principal = Value("principal"),
            Mission = Value("mission"),
            Tool = Value("tool"),
            Type = Value("type"),
            Since = since,
            AfterSeq = after,
            Limit = limit,
        };
        var events = await store.QueryAsync(query, context.RequestAborted);
        await RecordReadAsync(audit, context, who!);
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
            w.WriteNumber("next_after", events[^1].Seq);
        }

        w.WriteEndObject();
        await w.FlushAsync(context.RequestAborted);
        return Results.Empty;

        string? Value(string name) => q.TryGetValue(name, out var v) && !string.IsNullOrEmpty(v) ? v.ToString() : null;
    }

    private static async Task<IResult> ListMissionsAsync(HttpContext context, AdminGate gate, IMissionStore missions, IAuditStore auditStore,
        RevocationIndex revocations, AuditLog audit, TimeProvider time)
    {
        var (who, refusal) = await gate.AuthorizeAsync(context);
        if (refusal is not null)
        {
            return refusal;
        }

        var now = time.GetUtcNow();
        var since = now - TimeSpan.FromDays(1);
        var q = context.Request.Query;
        if (q.TryGetValue("since", out var sinceText) && (sinceText.Count != 1 || !TimeArguments.TryParseSince(sinceText!, now, out since)))
        {
            return Results.Problem(statusCode: 400, title: "Bad request", detail: "'since' must be an RFC 3339 time or a duration such as 1h.");
        }

        var limit = 200;
        if (q.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 1000))
        {
            return Results.Problem(statusCode: 400, title: "Bad request", detail: "'limit' must be from 1 to 1000.");
        }

        await RecordReadAsync(audit, context, who!);
        var items = new List<MissionView>();
        foreach (var m in await missions.ListAsync(since, limit, context.RequestAborted))
        {
            var tokens = await auditStore.CountAsync(new AuditQuery { Mission = m.Id, Type = AuditTypes.TokenExchanged }, context.RequestAborted);
            var status = MissionStatus.Of(m, revocations, now);
            items.Add(new MissionView(m.Id, m.Principal, m.Idp, m.ActorChain, m.Purpose, AuditEvent.FormatTime(m.StartedAt), AuditEvent.FormatTime(m.ExpiresAt), status, tokens));
        }

        return Results.Json(new MissionList(items), AdminJson.Options);
    }

    private static async Task<IResult> ListKeysAsync(HttpContext context, AdminGate gate, SigningKeyService keys, TimeProvider time)
    {
        var (_, refusal) = await gate.AuthorizeAsync(context);
        if (refusal is not null)
        {
            return refusal;
        }

        var now = time.GetUtcNow();
        var ring = keys.Ring;
        var items = ring.Keys.Select(k => new KeyView(
            k.Kid, AuditEvent.FormatTime(k.CreatedAt), AuditEvent.FormatTime(k.ActivatesAt),
            SigningKeyStatus.Of(ring, k, now))).ToList();
        return Results.Json(new KeyList(items), AdminJson.Options);
    }

    private static async Task<IResult> RotateKeysAsync(HttpContext context, AdminGate gate, SigningKeyService keys)
    {
        var (who, refusal) = await gate.AuthorizeAsync(context);
        if (refusal is not null)
        {
            return refusal;
        }

        var key = await keys.RotateAsync(who, context.TraceIdentifier, context.RequestAborted);
        TesseraMetrics.AdminRequests.WithLabels("allowed").Inc();
        return Results.Json(new KeyView(key.Kid, AuditEvent.FormatTime(key.CreatedAt), AuditEvent.FormatTime(key.ActivatesAt), SigningKeyStatus.Pending), AdminJson.Options);
    }

    private static async Task<IResult> RevokeAsync(HttpContext context, AdminGate gate, RevocationService revocations, AccessTokenValidator validator,
        AgentRegistry agents, IMissionStore missions, Core.Approvals.ApprovalService approvals)
    {
        var (who, refusal) = await gate.AuthorizeAsync(context);
        if (refusal is not null)
        {
            return refusal;
        }

        var (body, problem) = await AdminBody.ReadObjectAsync<RevokeRequest>(context,
            "{\"kind\": \"token|jti|mission|agent|principal|approval\", \"id\": \"...\"} or {\"kind\": \"token\", \"token\": \"<JWT>\"}");
        if (problem is not null)
        {
            return problem;
        }

        if (body is null || string.IsNullOrEmpty(body.Kind))
        {
            return Results.Problem(statusCode: 400, title: "Bad request", detail: "'kind' is required.");
        }

        if (body.Kind == "approval")
        {
            return await RevokeApprovalAsync(context, body, who!, approvals);
        }

        RevocationEntry entry;
        if (body.Kind == "token" && body.Token is not null)
        {
            var validation = await validator.ValidateAsync(body.Token, context.RequestAborted);
            if (validation.Claims is null)
            {
                return Results.Problem(statusCode: 400, title: "Bad request", detail: $"That is not a token issued by this server ({validation.Reason}).");
            }

            entry = await revocations.RevokeTokenAsync(validation.Claims, who!, context.TraceIdentifier, context.RequestAborted);
        }
        else
        {
            RevocationKind? kind = body.Kind switch
            {
                "token" or "jti" => RevocationKind.Token,
                "mission" => RevocationKind.Mission,
                "agent" => RevocationKind.Agent,
                "principal" => RevocationKind.Principal,
                _ => null,
            };
            if (kind is null || string.IsNullOrEmpty(body.Id) || body.Id.Length > 256)
            {
                return Results.Problem(statusCode: 400, title: "Bad request", detail: "'kind' must be token, jti, mission, agent, principal or approval, with an 'id' of at most 256 characters.");
            }

            // A typo must not look like a revocation: name only agents and missions that exist.
            // (Token ids and principals cannot be checked: Tessera keeps no list of them.)
            if (kind == RevocationKind.Agent && agents.Find(body.Id) is null)
            {
                return Results.Problem(statusCode: 404, title: "Not found", detail: $"No agent '{Clip(body.Id)}' is configured.");
            }

            if (kind == RevocationKind.Mission && await missions.FindAsync(body.Id, context.RequestAborted) is null)
            {
                return Results.Problem(statusCode: 404, title: "Not found", detail: $"No mission '{Clip(body.Id)}' is known.");
            }

            entry = await revocations.RevokeAsync(kind.Value, body.Id, who!, context.TraceIdentifier, context.RequestAborted);
        }

        TesseraMetrics.Revocations.WithLabels(entry.Kind.ToString().ToLowerInvariant()).Inc();
        return Results.Json(new RevocationView(entry.Kind.ToString().ToLowerInvariant(), entry.Id, AuditEvent.FormatTime(entry.RevokedAt), AuditEvent.FormatTime(entry.ExpiresAt)), AdminJson.Options);
    }

    /// <summary>Ends an approval (docs/approvals.md, "Revoking"): it yields no token any more, and the token it yielded is revoked.</summary>
    private static async Task<IResult> RevokeApprovalAsync(HttpContext context, RevokeRequest body, string who, Core.Approvals.ApprovalService approvals)
    {
        if (string.IsNullOrEmpty(body.Id) || body.Id.Length > 256)
        {
            return Results.Problem(statusCode: 400, title: "Bad request", detail: "Revoking an approval needs its 'id' (the auth_req_id), of at most 256 characters.");
        }

        var result = await approvals.RevokeAsync(body.Id, who, context.TraceIdentifier, context.RequestAborted);
        if (result.Outcome != Core.Approvals.ApprovalDecisionOutcome.Decided)
        {
            TesseraMetrics.AdminRequests.WithLabels("denied").Inc();
            return result.Outcome == Core.Approvals.ApprovalDecisionOutcome.NotFound
                ? Results.Problem(statusCode: 404, title: "Not found", detail: "No such approval request.")
                : Results.Problem(statusCode: 409, title: "Conflict", detail: result.Description);
        }

        var approval = result.Approval!;
        TesseraMetrics.Revocations.WithLabels("approval").Inc();
        return Results.Json(new RevocationView("approval", approval.Id, AuditEvent.FormatTime(approval.RevokedAt!.Value), AuditEvent.FormatTime(approval.ExpiresAt)), AdminJson.Options);
    }

    private static Task<AuditEvent> RecordReadAsync(AuditLog audit, HttpContext context, string admin)
    {
        TesseraMetrics.AdminRequests.WithLabels("allowed").Inc();
        return audit.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.AdminRead,
            Outcome = AuditOutcomes.Allowed,
            Principal = admin,
            Reason = $"{context.Request.Method} {context.Request.Path}",
            RequestId = context.TraceIdentifier,
        }, cancellationToken: context.RequestAborted);
    }

    private static string Clip(string value) => value.Length > 64 ? value[..64] + "…" : value;
}
