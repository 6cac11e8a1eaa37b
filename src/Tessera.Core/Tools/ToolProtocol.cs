namespace Tessera.Core.Tools;

/// <summary>How agents reach a tool, and so what its scopes are written against (proxy rules, MCP rules, database grants).</summary>
public enum ToolProtocol
{
    /// <summary>Plain HTTP: rules are <c>METHOD /path</c>.</summary>
    Http,

    /// <summary>An MCP server's Streamable HTTP endpoint: rules are <c>MCP &lt;method&gt; [&lt;pattern&gt;]</c>.</summary>
    Mcp,

    /// <summary>
    /// A PostgreSQL database: nothing is proxied; an agent gets a lease (<c>POST /credentials/{tool}</c>),
    /// a login role of its own holding the grants of its token's scopes, dropped when the lease ends.
    /// </summary>
    Postgres,
}
