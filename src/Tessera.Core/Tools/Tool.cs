using System.Collections.Frozen;
using Tessera.Core.Configuration;
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

    /// <summary>The proxy rules of each scope, keyed by the full scope name (<c>tool:scope</c>), parsed once.</summary>
    public FrozenDictionary<string, PathRule[]> Rules { get; } = options.Scopes.ToFrozenDictionary(
        s => $"{options.Id}:{s.Key}", s => s.Value.Rules.Select(PathRule.Parse).ToArray(), StringComparer.Ordinal);

    /// <summary>
    /// The scopes of this tool that need a human's approval, computed once: intersecting with it
    /// replaces a per-request scan that cut a substring out of every permitted scope.
    /// </summary>
    public ScopeSet ApprovalGatedScopes { get; } = ScopeSet.Of(options.Scopes.Where(s => s.Value.Approval is not null).Select(s => $"{options.Id}:{s.Key}"));
}
