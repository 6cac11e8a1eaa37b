using System.Collections.Frozen;
using Tessera.Core.Identity;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;

namespace Tessera.Core.Configuration;

/// <summary>
/// One loaded configuration with the indexes built from it: agents, tools, identity providers and
/// principals' ceilings. Immutable; a reload builds a new one and swaps it in whole
/// (<see cref="LiveConfig"/>), so nothing ever sees half of one configuration and half of another.
/// </summary>
public sealed class ConfigSnapshot
{
    private readonly FrozenDictionary<(string Idp, string Sub), ScopeSet> _principalCeilings;

    // Every <tool>:<scope> some tool defines, so a token's scope is checked without splitting it.
    private readonly FrozenSet<string> _definedScopes;

    /// <param name="config">The validated configuration.</param>
    /// <param name="agents">Its agents.</param>
    /// <param name="tools">Its tools.</param>
    /// <param name="identityProviders">Its identity providers.</param>
    /// <param name="loadedAt">When it was loaded (the server's clock).</param>
    public ConfigSnapshot(TesseraConfig config, AgentRegistry agents, ToolCatalog tools, IdentityProviderRegistry identityProviders, DateTimeOffset loadedAt)
    {
        Config = config;
        Agents = agents;
        Tools = tools;
        IdentityProviders = identityProviders;
        LoadedAt = loadedAt;
        // The configuration refuses a principal listed twice; the last entry wins if code builds such a list.
        _principalCeilings = config.Principals
            .GroupBy(p => (p.Idp, p.Sub))
            .ToFrozenDictionary(g => g.Key, g => ScopeSet.Of(g.Last().Scopes));
        _definedScopes = tools.All.SelectMany(t => t.Scopes).ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>Builds every index of <paramref name="config"/>; <paramref name="previous"/> lends its identity providers' fetched keys.</summary>
    public static ConfigSnapshot Build(TesseraConfig config, TimeProvider time, HttpClient? http = null, ConfigSnapshot? previous = null) =>
        new(config, new AgentRegistry(config.Agents), new ToolCatalog(config.Tools, config.Server.Issuer),
            new IdentityProviderRegistry(config.IdentityProviders, time, http, previous?.IdentityProviders), time.GetUtcNow());

    public TesseraConfig Config { get; }

    public AgentRegistry Agents { get; }

    public ToolCatalog Tools { get; }

    public IdentityProviderRegistry IdentityProviders { get; }

    /// <summary>The configuration's hash (<see cref="TesseraConfig.Hash"/>).</summary>
    public string Hash => Config.Hash;

    public DateTimeOffset LoadedAt { get; }

    /// <summary>The ceiling <c>principals:</c> sets for this principal, or null when it is not listed.</summary>
    public ScopeSet? PrincipalCeiling(string idp, string sub) => _principalCeilings.GetValueOrDefault((idp, sub));

    /// <summary>
    /// The token's claims with only the scopes this configuration still allows it (docs/operations.md,
    /// "What a change means for credentials"): each scope must still be defined by its tool, within
    /// the <c>allowed_scopes</c> of every agent in the token (client and actors), and within the
    /// principal's ceiling when <c>principals:</c> lists one. Delegation never widens, so a scope
    /// outside any of these was granted under an older configuration and is withdrawn now, with the
    /// same token. The same instance when nothing is withdrawn (the common case allocates nothing);
    /// the caller has already refused tokens whose agents are no longer registered.
    /// </summary>
    public AccessTokenClaims Narrow(AccessTokenClaims claims)
    {
        // On every validation: no allocation unless a scope is withdrawn (indexes, not enumerators).
        var client = Agents.Find(claims.ClientId);
        var ceiling = claims is { Idp: { } idp, Principal: { } principal } ? PrincipalCeiling(idp, principal) : null;
        var scopes = claims.Scope;
        List<string>? kept = null;
        for (var i = 0; i < scopes.Count; i++)
        {
            var scope = scopes[i];
            var allowed = _definedScopes.Contains(scope)
                && client is not null && client.AllowedScopes.Contains(scope)
                && (ceiling is null || ceiling.Contains(scope))
                && ActorsAllow(claims.ActorChain, scope);
            if (!allowed && kept is null)
            {
                kept = new List<string>(scopes.Count);
                for (var j = 0; j < i; j++)
                {
                    kept.Add(scopes[j]);
                }
            }
            else if (allowed)
            {
                kept?.Add(scope);
            }
        }

        return kept is null ? claims : claims with { Scope = ScopeSet.Of(kept) };
    }

    private bool ActorsAllow(IReadOnlyList<string> actors, string scope)
    {
        for (var i = 0; i < actors.Count; i++)
        {
            if (Agents.Find(actors[i]) is not { } agent || !agent.AllowedScopes.Contains(scope))
            {
                return false;
            }
        }

        return true;
    }
}
