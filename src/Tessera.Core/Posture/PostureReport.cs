namespace Tessera.Core.Posture;

/// <summary>The posture of an installation: every agent, every finding, and the rules no request matched in the window.</summary>
public sealed record PostureReport(DateTimeOffset GeneratedAt, TimeSpan Window, IReadOnlyList<AgentPosture> Agents, IReadOnlyList<PostureFinding> Findings,
    IReadOnlyList<RuleUse> RulesUnmatched)
{
    /// <summary>Whether some finding is at least <paramref name="threshold"/> (<c>--fail-on</c>: exit 1).</summary>
    public bool Reaches(PostureSeverity threshold) => Findings.Any(f => f.Severity >= threshold);

    /// <summary>The number of findings of every type and severity, zero included (what the gauges show, so an alert sees a finding go away).</summary>
    public IEnumerable<(string Type, PostureSeverity Severity, int Count)> Counts() =>
        from type in PostureFindingTypes.All
        from severity in Enum.GetValues<PostureSeverity>()
        select (type, severity, Findings.Count(f => f.Type == type && f.Severity == severity));
}
