namespace Tessera.Core.Mcp;

/// <summary>
/// Whether the rules of a token's scopes let one MCP message through: the scope and rule that allow
/// it (both null for a lifecycle message, which needs no rule), or the scopes of the tool that would
/// (for <c>WWW-Authenticate: Bearer error="insufficient_scope", scope="..."</c>; empty when none would).
/// </summary>
public readonly record struct McpDecision(bool IsAllowed, string? Scope, McpRule? Rule, IReadOnlyList<string> WouldAllow)
{
    public static McpDecision Lifecycle { get; } = new(true, null, null, []);
}
