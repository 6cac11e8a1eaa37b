using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Posture;

namespace Tessera.Server.Admin;

/// <summary>The posture report as the admin API writes it (snake_case; times as in audit events; durations as in tessera.yaml).</summary>
internal sealed record PostureView(string GeneratedAt, string Window, IReadOnlyList<PostureView.Agent> Agents, IReadOnlyList<PostureView.Finding> Findings,
    IReadOnlyList<PostureView.Rule> RulesUnmatched)
{
    public static PostureView Of(PostureReport report) => new(
        AuditEvent.FormatTime(report.GeneratedAt),
        Durations.Format(report.Window),
        [.. report.Agents.Select(a => new Agent(a.Id, a.Owner, a.Purpose, AuditEvent.FormatTime(a.Expires), a.Status,
            a.LastTokenAt is { } at ? AuditEvent.FormatTime(at) : null, a.ScopesUsed, a.ScopesUnused,
            new Reach(a.Reach.Tools, a.Reach.Secrets, a.Reach.ViaDelegation), a.RightSizedScopes, $"tessera revoke --agent {a.Id}"))],
        [.. report.Findings.Select(f => new Finding(f.Type, PostureSeverities.Name(f.Severity), f.Agent, f.Tool, f.Scope, f.Secret, f.Rule, f.Evidence, f.Recommendation))],
        [.. report.RulesUnmatched.Select(r => new Rule(r.Scope, r.Rule))]);

    /// <summary>One agent; <c>KillSwitch</c> is the command that revokes everything it holds, shown beside its reach.</summary>
    internal sealed record Agent(string Id, string Owner, string Purpose, string Expires, string Status, string? LastTokenAt, IReadOnlyList<string> ScopesUsed,
        IReadOnlyList<string> ScopesUnused, Reach Reach, IReadOnlyList<string>? RightSizedScopes, string KillSwitch);

    internal sealed record Reach(IReadOnlyList<string> Tools, IReadOnlyList<string> Secrets, IReadOnlyList<string> ViaDelegation);

    internal sealed record Finding(string Type, string Severity, string? Agent, string? Tool, string? Scope, string? Secret, string? Rule, string Evidence, string Recommendation);

    internal sealed record Rule(string Scope, string Text);
}
