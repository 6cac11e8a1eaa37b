namespace Tessera.Core.Posture;

/// <summary>The usage counters at one moment: per agent (<see cref="AgentUsage"/>) and the last match of each rule.</summary>
public sealed record PostureUsage(IReadOnlyDictionary<string, AgentUsage> Agents, IReadOnlyDictionary<RuleUse, DateTimeOffset> RulesLastMatched)
{
    public static PostureUsage None { get; } = new(new Dictionary<string, AgentUsage>(StringComparer.Ordinal), new Dictionary<RuleUse, DateTimeOffset>());

    public AgentUsage Of(string agentId) => Agents.GetValueOrDefault(agentId) ?? AgentUsage.None;
}
