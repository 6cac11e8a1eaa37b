namespace Tessera.Core.Mcp;

/// <summary>Which list an answer carries, and so which of its entries a token may see.</summary>
public enum McpListKind
{
    /// <summary>Not a list request: its answer passes unchanged.</summary>
    None,

    /// <summary><c>tools/list</c>: <c>result.tools</c>, each shown when a <c>tools/call</c> rule allows its name.</summary>
    Tools,

    /// <summary><c>prompts/list</c>: <c>result.prompts</c>, each shown when a <c>prompts/get</c> rule allows its name.</summary>
    Prompts,

    /// <summary><c>resources/list</c>: <c>result.resources</c>, each shown when a <c>resources/read</c> rule allows its URI.</summary>
    Resources,

    /// <summary>
    /// <c>resources/templates/list</c>: <c>result.resourceTemplates</c>. A template stands for URIs not
    /// yet known, so it is shown only to a token that may read every resource of the tool.
    /// </summary>
    ResourceTemplates,

    /// <summary>An answer whose request is not known (a stream resumed or opened with GET): any list it carries is filtered.</summary>
    Any,
}
