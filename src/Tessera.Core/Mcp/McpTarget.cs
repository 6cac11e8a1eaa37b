namespace Tessera.Core.Mcp;

/// <summary>Which member of a message's <c>params</c> a rule's pattern is matched against.</summary>
public enum McpTarget
{
    /// <summary>The method names no target: only a rule without a pattern allows it.</summary>
    None,

    /// <summary><c>params.name</c>: a tool (<c>tools/call</c>) or a prompt (<c>prompts/get</c>).</summary>
    Name,

    /// <summary><c>params.uri</c>: a resource (<c>resources/read</c>, <c>resources/subscribe</c>, <c>resources/unsubscribe</c>).</summary>
    Uri,
}
