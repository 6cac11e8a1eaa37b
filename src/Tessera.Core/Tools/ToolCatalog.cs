using System.Collections.Frozen;
using Tessera.Core.Configuration;
using Tessera.Core.Protocol;
using Tessera.Core.Tokens;

namespace Tessera.Core.Tools;

/// <summary>The configured tools, found by id or by audience (RFC 8707 <c>resource</c> / RFC 8693 <c>audience</c>).</summary>
public sealed class ToolCatalog
{
    private readonly FrozenDictionary<string, Tool> _byId;
    private readonly FrozenDictionary<string, Tool> _byAudience;
    private readonly string? _issuer;

    /// <param name="tools">The configured tools.</param>
    /// <param name="issuer">This server's issuer: a tool is also named by its proxy URL, <c>&lt;issuer&gt;/proxy/{tool}</c> (RFC 9728 resource).</param>
    public ToolCatalog(IEnumerable<ToolOptions> tools, string? issuer = null)
    {
        _issuer = issuer;
        var list = tools.Select(t => new Tool(t)).ToList();
        _byId = list.ToFrozenDictionary(t => t.Id, StringComparer.Ordinal);
        _byAudience = list.ToFrozenDictionary(t => t.Audience, StringComparer.Ordinal);
    }

    public IReadOnlyCollection<Tool> All => _byId.Values;

    public Tool? FindById(string id) => _byId.GetValueOrDefault(id);

    /// <summary>
    /// A tool named by its audience URI, by its proxy URL (the resource an MCP client sends, RFC 8707),
    /// or by its bare id as a convenience for <c>audience</c>.
    /// </summary>
    public Tool? FindByTarget(string target) =>
        _byAudience.GetValueOrDefault(target)
        ?? (_issuer is not null && ProtectedResource.ToolIdOf(_issuer, target) is { } id ? _byId.GetValueOrDefault(id) : null)
        ?? _byId.GetValueOrDefault(target);

    /// <summary>
    /// The tool a token request is for (docs/reference/http-api.md, "POST /oauth/token"): the one its <c>resource</c>/<c>audience</c>
    /// names; when it names none and <paramref name="inferFromScopes"/>, the one every requested
    /// scope names. No tool (and no refusal) when it names none and nothing is inferred.
    /// </summary>
    internal ToolTarget Resolve(TokenRequest request, ScopeSet requested, bool inferFromScopes)
    {
        var targets = Targets(request);

        // Reject several targets: a token is audience-restricted to one tool.
        if (targets.Count > 1)
        {
            return new(null, new(RefusalCodes.TargetSeveral, OAuthError.InvalidTarget("A token is issued for one tool; name a single resource or audience."), "several targets"));
        }

        if (targets.Count == 1)
        {
            // Reject a target no configured tool answers to.
            return FindByTarget(targets[0]) is { } tool
                ? new(tool, null)
                : new(null, new(RefusalCodes.TargetUnknown, OAuthError.InvalidTarget($"No tool is known by '{DisplayText.Clip(targets[0])}'."), "unknown target"));
        }

        if (!inferFromScopes)
        {
            return default;
        }

        var named = requested.Tools();
        if (named.Count == 1 && FindById(named[0]) is { } inferred)
        {
            return new(inferred, null);
        }

        // Reject requests whose tool is neither named nor implied by one tool's scopes.
        return new(null, new(RefusalCodes.TargetNotInferred, OAuthError.InvalidTarget(named.Count == 0
            ? "Name the tool with 'resource' or 'audience', or request scopes of one tool."
            : "The requested scopes name several or unknown tools; name one tool with 'resource' or 'audience'."), "tool not inferred"));
    }

    /// <summary>
    /// The distinct <c>resource</c> and <c>audience</c> values, in order. Most requests name none or
    /// one, so those cases allocate nothing beyond the answer.
    /// </summary>
    private static IReadOnlyList<string> Targets(TokenRequest request)
    {
        if (request.Audiences.Count == 0 && request.Resources.Count <= 1)
        {
            return request.Resources;
        }

        if (request.Resources.Count == 0 && request.Audiences.Count <= 1)
        {
            return request.Audiences;
        }

        return request.Resources.Concat(request.Audiences).Distinct(StringComparer.Ordinal).ToList();
    }
}
