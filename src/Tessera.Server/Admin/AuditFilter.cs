using System.Globalization;
using Microsoft.AspNetCore.Http;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Protocol;

namespace Tessera.Server.Admin;

/// <summary>
/// The audit log's query parameters (agent, principal, mission, tool, type, since, after, limit) read
/// into an <see cref="AuditQuery"/>, with one set of rules and refusal texts for the admin API
/// (<c>GET /admin/v1/audit</c>) and the console's audit page.
/// </summary>
internal static class AuditFilter
{
    public const int DefaultLimit = 1000;

    /// <summary>Reads <paramref name="q"/>; false with <paramref name="error"/> (the text a person or client is shown) when a value is invalid.</summary>
    public static bool TryParse(IQueryCollection q, bool chainPerNode, DateTimeOffset now, int defaultLimit, out AuditQuery query, out AuditCursor after, out string? error)
    {
        query = new AuditQuery();
        after = AuditCursor.Start;
        error = null;
        foreach (var (key, values) in q)
        {
            if (values.Count > 1)
            {
                error = $"The query parameter '{DisplayText.Clip(key, 64)}' is given more than once.";
                return false;
            }
        }

        DateTimeOffset? since = null;
        if (q.TryGetValue("since", out var sinceText) && !string.IsNullOrEmpty(sinceText))
        {
            if (!TimeArguments.TryParseSince(sinceText!, now, out var parsed))
            {
                error = "'since' must be an RFC 3339 time or a duration such as 1h.";
                return false;
            }

            since = parsed;
        }

        if (q.TryGetValue("after", out var afterText) && (!AuditCursor.TryParse(afterText.ToString(), out after) || (after.ByNode is not null && !chainPerNode)))
        {
            error = chainPerNode ? "'after' must be the next_after of the previous page." : "'after' must be a sequence number.";
            return false;
        }

        if (chainPerNode && after.ByNode is null)
        {
            // A sequence number names a place in one chain only; 0 (the first page) is every chain's start.
            if (after.AfterSeq != 0)
            {
                error = "'after' must be the next_after of the previous page.";
                return false;
            }

            after = new AuditCursor(0, new Dictionary<string, long>(StringComparer.Ordinal));
        }

        var limit = defaultLimit;
        if (q.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 10_000))
        {
            error = "'limit' must be from 1 to 10000.";
            return false;
        }

        query = new AuditQuery
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
        return true;

        string? Value(string name) => q.TryGetValue(name, out var v) && !string.IsNullOrEmpty(v) ? v.ToString() : null;
    }

    /// <summary>The cursor of the page after <paramref name="events"/>, as the API's <c>next_after</c> spells it; null on the last page.</summary>
    public static string? NextAfter(AuditCursor after, IReadOnlyList<AuditEvent> events, int limit)
    {
        if (events.Count != limit)
        {
            return null;
        }

        var next = after.After(events);
        return next.ByNode is null ? next.AfterSeq.ToString(CultureInfo.InvariantCulture) : next.Format();
    }
}
