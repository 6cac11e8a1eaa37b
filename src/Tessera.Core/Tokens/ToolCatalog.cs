using System.Collections.Frozen;
using Tessera.Core.Configuration;

namespace Tessera.Core.Tokens;

/// <summary>The configured tools, found by id or by audience (RFC 8707 <c>resource</c> / RFC 8693 <c>audience</c>).</summary>
public sealed class ToolCatalog
{
    private readonly FrozenDictionary<string, Tool> _byId;
    private readonly FrozenDictionary<string, Tool> _byAudience;

    public ToolCatalog(IEnumerable<ToolOptions> tools)
    {
        var list = tools.Select(t => new Tool(t)).ToList();
        _byId = list.ToFrozenDictionary(t => t.Id, StringComparer.Ordinal);
        _byAudience = list.ToFrozenDictionary(t => t.Audience, StringComparer.Ordinal);
    }

    public IReadOnlyCollection<Tool> All => _byId.Values;

    public Tool? FindById(string id) => _byId.GetValueOrDefault(id);

    /// <summary>A tool named by its audience URI, or by its bare id as a convenience for <c>audience</c>.</summary>
    public Tool? FindByTarget(string target) => _byAudience.GetValueOrDefault(target) ?? _byId.GetValueOrDefault(target);
}
