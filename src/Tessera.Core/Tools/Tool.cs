using System.Collections.Frozen;
using Tessera.Core.Configuration;
using Tessera.Core.Mcp;
using Tessera.Core.Proxy;
using Tessera.Core.Tokens;

namespace Tessera.Core.Tools;

/// <summary>An upstream service agents reach through Tessera; a resource server with its own audience.</summary>
public sealed class Tool(ToolOptions options)
{
    public string Id { get; } = options.Id;
    public string Audience { get; } = options.Audience;
    public ToolOptions Options { get; } = options;

    /// <summary>Every scope of this tool, written <c>tool:scope</c>.</summary>
    public ScopeSet Scopes { get; } = ScopeSet.Of(options.Scopes.Keys.Select(k => $"{options.Id}:{k}"));

    public ToolProtocol Protocol { get; } = options.Protocol;

    /// <summary>The proxy rules of each scope of an HTTP tool, keyed by the full scope name (<c>tool:scope</c>), parsed once; empty for an MCP tool.</summary>
    public FrozenDictionary<string, PathRule[]> Rules { get; } = options.Protocol != ToolProtocol.Http ? FrozenDictionary<string, PathRule[]>.Empty : options.Scopes.ToFrozenDictionary(
        s => $"{options.Id}:{s.Key}", s => s.Value.Rules.Select(PathRule.Parse).ToArray(), StringComparer.Ordinal);

    /// <summary>The MCP rules of each scope of an MCP tool, keyed as <see cref="Rules"/>; empty for an HTTP tool.</summary>
    public FrozenDictionary<string, McpRule[]> McpRules { get; } = options.Protocol != ToolProtocol.Mcp ? FrozenDictionary<string, McpRule[]>.Empty : options.Scopes.ToFrozenDictionary(
        s => $"{options.Id}:{s.Key}", s => s.Value.Rules.Select(r => McpRule.Parse(r, out var problem) ?? throw new FormatException(problem)).ToArray(), StringComparer.Ordinal);

    /// <summary>
    /// The scopes of this tool that need a human's approval, computed once: intersecting with it
    /// replaces a per-request scan that cut a substring out of every permitted scope.
    /// </summary>
    public ScopeSet ApprovalGatedScopes { get; } = ScopeSet.Of(options.Scopes.Where(s => s.Value.Approval is not null).Select(s => $"{options.Id}:{s.Key}"));
}
