namespace Tessera.Core.Posture;

/// <summary>The usage counters at one moment: per agent (<see cref="AgentUsage"/>) and the last match of each rule.</summary>
public sealed record PostureUsage(IReadOnlyDictionary<string, AgentUsage> Agents, IReadOnlyDictionary<RuleUse, DateTimeOffset> RulesLastMatched)
{
    public static PostureUsage None { get; } = new(new Dictionary<string, AgentUsage>(StringComparer.Ordinal), new Dictionary<RuleUse, DateTimeOffset>());

    public AgentUsage Of(string agentId) => Agents.GetValueOrDefault(agentId) ?? AgentUsage.None;

    /// <summary>
    /// Adds one stored counter row to what a store is reading: <paramref name="scope"/> empty is the
    /// agent's last token, any other its last grant of that scope; a later time wins (rows of several nodes).
    /// </summary>
    public static void Add(Dictionary<string, DateTimeOffset> tokens, Dictionary<string, Dictionary<string, DateTimeOffset>> scopes, string agent, string scope, DateTimeOffset at)
    {
        if (scope.Length == 0)
        {
            tokens[agent] = tokens.TryGetValue(agent, out var known) && known > at ? known : at;
            return;
        }

        if (!scopes.TryGetValue(agent, out var granted))
        {
            scopes[agent] = granted = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        }

        granted[scope] = granted.TryGetValue(scope, out var last) && last > at ? last : at;
    }

    /// <summary>The usage a store read, from its counter rows gathered by <see cref="Add"/>.</summary>
    public static PostureUsage Of(Dictionary<string, DateTimeOffset> tokens, Dictionary<string, Dictionary<string, DateTimeOffset>> scopes, Dictionary<RuleUse, DateTimeOffset> rules)
    {
        var agents = new Dictionary<string, AgentUsage>(StringComparer.Ordinal);
        foreach (var agent in tokens.Keys.Union(scopes.Keys, StringComparer.Ordinal))
        {
            agents[agent] = new AgentUsage(tokens.TryGetValue(agent, out var at) ? at : null,
                scopes.TryGetValue(agent, out var granted) ? granted : new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal));
        }

        return new PostureUsage(agents, rules);
    }
}
