namespace Tessera.Core.Posture;

/// <summary>The posture of an installation: every agent, every finding, and the rules no request matched in the window.</summary>
public sealed record PostureReport(DateTimeOffset GeneratedAt, TimeSpan Window, IReadOnlyList<AgentPosture> Agents, IReadOnlyList<PostureFinding> Findings,
    IReadOnlyList<RuleUse> RulesUnmatched)
{
    /// <summary>Whether some finding is at least <paramref name="threshold"/> (<c>--fail-on</c>: exit 1).</summary>
    public bool Reaches(PostureSeverity threshold) => Findings.Any(f => f.Severity >= threshold);
}
