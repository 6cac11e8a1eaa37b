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
    private readonly FrozenDictionary<PrincipalRef, ScopeSet> _principalCeilings;

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
            .GroupBy(p => new PrincipalRef(p.Idp, p.Sub))
            .ToFrozenDictionary(g => g.Key, g => ScopeSet.Of(g.Last().Scopes));
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
    public ScopeSet? PrincipalCeiling(string idp, string sub) => _principalCeilings.GetValueOrDefault(new PrincipalRef(idp, sub));

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
        List<string>? kept = null;
        var index = 0;
        foreach (var scope in claims.Scope)
        {
            var allowed = StillAllows(claims, scope);
            if (!allowed && kept is null)
            {
                kept = [.. claims.Scope.Take(index)];
            }
            else if (allowed)
            {
                kept?.Add(scope);
            }

            index++;
        }

        return kept is null ? claims : claims with { Scope = ScopeSet.Of(kept) };
    }

    private bool StillAllows(AccessTokenClaims claims, string scope)
    {
        var colon = scope.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || Tools.FindById(scope[..colon]) is not { } tool || !tool.Scopes.Contains(scope))
        {
            return false;
        }

        if (Agents.Find(claims.ClientId) is not { } client || !client.AllowedScopes.Contains(scope))
        {
            return false;
        }

        foreach (var actor in claims.ActorChain)
        {
            if (Agents.Find(actor) is not { } agent || !agent.AllowedScopes.Contains(scope))
            {
                return false;
            }
        }

        return claims is not { Idp: { } idp, Principal: { } principal } || PrincipalCeiling(idp, principal) is not { } ceiling || ceiling.Contains(scope);
    }
}
