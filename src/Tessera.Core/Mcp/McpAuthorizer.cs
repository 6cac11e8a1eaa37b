using Tessera.Core.Tokens;
using Tessera.Core.Tools;

namespace Tessera.Core.Mcp;

/// <summary>
/// Decides whether a token's scopes let one MCP message through to a tool (docs/mcp.md): a
/// lifecycle message (<c>initialize</c>, <c>ping</c>, notifications, answers to the server) needs no
/// rule; any other needs a rule of one of the token's scopes of that tool matching its method and,
/// for a rule with a pattern, its name or URI. The token's audience is checked before, as for any tool.
/// </summary>
public static class McpAuthorizer
{
    public static McpDecision Authorize(ScopeSet scopes, Tool tool, McpMessage message)
    {
        if (message.IsLifecycle)
        {
            return McpDecision.Lifecycle;
        }

        foreach (var scope in scopes)
        {
            if (tool.McpRules.TryGetValue(scope, out var rules) && Find(rules, message) is { } rule)
            {
                return new McpDecision(true, scope, rule, []);
            }
        }

        // Refused: name the scopes of this tool that would have allowed it (RFC 6750 §3.1), so an
        // agent can ask for them; never more than the tool's own scopes, which its metadata lists anyway.
        var wouldAllow = new List<string>();
        foreach (var (scope, rules) in tool.McpRules)
        {
            if (Find(rules, message) is not null)
            {
                wouldAllow.Add(scope);
            }
        }

        wouldAllow.Sort(StringComparer.Ordinal);
        return new McpDecision(false, null, null, wouldAllow);
    }

    private static McpRule? Find(McpRule[] rules, McpMessage message)
    {
        foreach (var rule in rules)
        {
            if (rule.Matches(message.Method!, message.Target))
            {
                return rule;
            }
        }

        return null;
    }
}
