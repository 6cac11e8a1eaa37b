using Tessera.Core.Audit;
using Tessera.Core.Storage;

namespace Tessera.Core.Posture;

/// <summary>
/// The usage counters' update for one audit commit: the latest time, within the batch, each agent got
/// a token, each agent was granted each scope, and each rule matched a forwarded request. Written in
/// the transaction of the events it is read from, so the counters and the log never disagree, and a
/// posture report reads counters instead of scanning the log.
/// </summary>
public sealed record UsageObserved(
    IReadOnlyDictionary<string, DateTimeOffset> Tokens,
    IReadOnlyDictionary<AgentScope, DateTimeOffset> Scopes,
    IReadOnlyDictionary<RuleUse, DateTimeOffset> Rules) : StateChange
{
    /// <summary>What the committed <paramref name="events"/> say about usage; null when nothing (the batch then carries no update).</summary>
    public static UsageObserved? From(IReadOnlyList<AuditEvent> events)
    {
        Dictionary<string, DateTimeOffset>? tokens = null;
        Dictionary<AgentScope, DateTimeOffset>? scopes = null;
        Dictionary<RuleUse, DateTimeOffset>? rules = null;
        foreach (var e in events)
        {
            var record = e.Record;
            if (record.Outcome != AuditOutcomes.Allowed)
            {
                continue;
            }

            switch (record.Type)
            {
                case AuditTypes.TokenIssued or AuditTypes.TokenExchanged when record.Agent is { } agent:
                    Latest(tokens ??= new(StringComparer.Ordinal), agent, e.Time);
                    foreach (var scope in record.Scopes ?? [])
                    {
                        Latest(scopes ??= [], new AgentScope(agent, scope), e.Time);
                    }

                    break;
                case AuditTypes.ProxyForwarded when record.Rule is { } rule && record.Scopes is [var matched]:
                    Latest(rules ??= [], new RuleUse(matched, rule), e.Time);
                    break;
            }
        }

        return tokens is null && rules is null ? null : new UsageObserved(
            (IReadOnlyDictionary<string, DateTimeOffset>?)tokens ?? new Dictionary<string, DateTimeOffset>(),
            (IReadOnlyDictionary<AgentScope, DateTimeOffset>?)scopes ?? new Dictionary<AgentScope, DateTimeOffset>(),
            (IReadOnlyDictionary<RuleUse, DateTimeOffset>?)rules ?? new Dictionary<RuleUse, DateTimeOffset>());
    }

    private static void Latest<TKey>(Dictionary<TKey, DateTimeOffset> into, TKey key, DateTimeOffset at)
        where TKey : notnull
    {
        if (!into.TryGetValue(key, out var known) || at > known)
        {
            into[key] = at;
        }
    }
}
