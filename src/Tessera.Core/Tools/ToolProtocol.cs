namespace Tessera.Core.Tools;

/// <summary>How agents speak to a tool through the proxy, and so what its rules are written against.</summary>
public enum ToolProtocol
{
    /// <summary>Plain HTTP: rules are <c>METHOD /path</c>.</summary>
    Http,

    /// <summary>An MCP server's Streamable HTTP endpoint: rules are <c>MCP &lt;method&gt; [&lt;pattern&gt;]</c>.</summary>
    Mcp,
}
