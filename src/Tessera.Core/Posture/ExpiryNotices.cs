namespace Tessera.Core.Posture;

/// <summary>
/// Which agents' coming expiry to warn an operator about now: each agent once when it enters the last two
/// weeks (a medium <c>agent.expiring_soon</c>) and once more when it enters the last three days (high).
/// An agent renewed out of the window is forgotten, so a later approach warns again. Not thread-safe: one
/// caller (the periodic posture refresh) owns it.
/// </summary>
public sealed class ExpiryNotices
{
    private readonly Dictionary<string, PostureSeverity> _warned = new(StringComparer.Ordinal);

    /// <summary>The findings of <paramref name="report"/> not warned about yet at their severity (medium or high).</summary>
    public IReadOnlyList<PostureFinding> Due(PostureReport report)
    {
        var current = report.Findings
            .Where(f => f.Type == PostureFindingTypes.AgentExpiringSoon && f.Agent is not null && f.Severity >= PostureSeverity.Medium)
            .ToDictionary(f => f.Agent!, StringComparer.Ordinal);
        foreach (var agent in _warned.Keys.Where(a => !current.ContainsKey(a)).ToList())
        {
            _warned.Remove(agent);
        }

        List<PostureFinding> due = [];
        foreach (var (agent, finding) in current)
        {
            if (!_warned.TryGetValue(agent, out var warned) || warned < finding.Severity)
            {
                _warned[agent] = finding.Severity;
                due.Add(finding);
            }
        }

        return due;
    }
}
