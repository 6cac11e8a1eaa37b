namespace Tessera.Core.Mcp;

/// <summary>
/// One rule of an MCP tool's scope (docs/reference/configuration.md, "MCP rules"):
/// <c>MCP &lt;method&gt;</c> allows every message of that JSON-RPC method, <c>MCP &lt;method&gt; &lt;pattern&gt;</c>
/// only those whose <c>params.name</c> (<c>tools/call</c>, <c>prompts/get</c>) or <c>params.uri</c>
/// (<c>resources/read</c>, <c>resources/subscribe</c>, <c>resources/unsubscribe</c>) the pattern matches.
/// </summary>
public sealed class McpRule
{
    public const string Keyword = "MCP";

    private McpRule(string text, string method, McpPattern? pattern)
    {
        Text = text;
        Method = method;
        Pattern = pattern;
    }

    /// <summary>The rule as configured.</summary>
    public string Text { get; }

    /// <summary>The JSON-RPC method it allows, compared exactly.</summary>
    public string Method { get; }

    /// <summary>The pattern of names or URIs it allows; null when it allows the method whatever its target.</summary>
    public McpPattern? Pattern { get; }

    /// <summary>Whether <paramref name="text"/> is written as an MCP rule at all (its first word is <c>MCP</c>).</summary>
    public static bool IsMcpRule(string text) => text.StartsWith(Keyword + " ", StringComparison.Ordinal);

    /// <summary>Parses a rule, or returns null and why it is not one.</summary>
    public static McpRule? Parse(string text, out string? problem)
    {
        var parts = text.Split(' ');
        if (parts.Length is < 2 or > 3 || parts[0] != Keyword || parts[1].Length == 0)
        {
            problem = "write MCP <method> or MCP <method> <pattern>, separated by single spaces";
            return null;
        }

        var method = parts[1];
        if (method.Length > McpMethods.MaxMethodLength || method.Any(c => c is <= ' ' or > '~' or '*'))
        {
            problem = $"'{method}' is not a JSON-RPC method name";
            return null;
        }

        if (McpMethods.IsLifecycle(method))
        {
            problem = $"'{method}' needs only a valid token; no rule is needed for it";
            return null;
        }

        if (parts.Length == 2)
        {
            problem = null;
            return new McpRule(text, method, null);
        }

        if (McpMethods.TargetOf(method) == McpTarget.None)
        {
            problem = $"'{method}' names no tool, prompt or resource, so a rule for it takes no pattern";
            return null;
        }

        var pattern = McpPattern.Parse(parts[2], out problem);
        return pattern is null ? null : new McpRule(text, method, pattern);
    }

    /// <summary>Whether this rule allows a message of <paramref name="method"/> naming <paramref name="target"/> (null when it names none).</summary>
    public bool Matches(string method, string? target) =>
        string.Equals(method, Method, StringComparison.Ordinal)
        && (Pattern is null || (target is not null && Pattern.Matches(target)));

    public override string ToString() => Text;
}
