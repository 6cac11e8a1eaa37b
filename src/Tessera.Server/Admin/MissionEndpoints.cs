using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Missions;
using Tessera.Core.Protocol;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;

namespace Tessera.Server.Admin;

/// <summary>Missions under <c>/admin/v1/missions</c>: those started since a time, each with its status and how many tokens it yielded.</summary>
internal static class MissionEndpoints
{
    public static void Map(RouteGroupBuilder admin) => admin.MapGet("/missions", ListAsync);

    private static async Task<Results<JsonHttpResult<MissionList>, ProblemHttpResult>> ListAsync(HttpContext context, IMissionStore missions, IAuditStore auditStore,
        RevocationIndex revocations, AdminAudit audit, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var since = now - TimeSpan.FromDays(1);
        var q = context.Request.Query;
        if (q.TryGetValue("since", out var sinceText) && (sinceText.Count != 1 || !TimeArguments.TryParseSince(sinceText!, now, out since)))
        {
            return AdminProblem.BadRequest(context, RefusalCodes.AdminQueryInvalid, "'since' must be an RFC 3339 time or a duration such as 1h.");
        }

        var limit = 200;
        if (q.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 1000))
        {
            return AdminProblem.BadRequest(context, RefusalCodes.AdminQueryInvalid, "'limit' must be from 1 to 1000.");
        }

        await audit.RecordReadAsync(context);
        var items = new List<MissionView>();
        foreach (var m in await missions.ListAsync(since, limit, context.RequestAborted))
        {
            var tokens = await auditStore.CountAsync(new AuditQuery { Mission = m.Id, Type = AuditTypes.TokenExchanged }, context.RequestAborted);
            items.Add(new MissionView(m.Id, m.Principal, m.Idp, m.ActorChain, m.Purpose, AuditEvent.FormatTime(m.StartedAt), AuditEvent.FormatTime(m.ExpiresAt),
                MissionStatus.Of(m, revocations, now), tokens));
        }

        return TypedResults.Json(new MissionList(items), AdminJson.Options);
    }
}
