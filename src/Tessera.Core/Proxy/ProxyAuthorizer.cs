using Tessera.Core.Protocol;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;

namespace Tessera.Core.Proxy;

/// <summary>
/// Decides whether a validated token lets one request through to a tool (docs/reference/http-api.md, "Proxy"): the token must
/// be addressed to the tool, and the method and normalized path must match a rule of one of the
/// token's scopes of that tool. Nothing else widens access.
/// </summary>
public static class ProxyAuthorizer
{
    /// <summary>
    /// Headers that ask an upstream to treat the request as another method or another URL. The
    /// decision is made on the request line, so a request carrying one is refused outright.
    /// </summary>
    public static readonly IReadOnlyList<string> OverrideHeaders =
        ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Original-URL", "X-Rewrite-URL"];

    /// <summary>The stable reason of the refusal of a mission token (audited as <c>proxy.denied</c>).</summary>
    public const string MissionTokenRefused = "a mission token (audience: the issuer) is never accepted by the proxy";

    /// <param name="claims">The validated token's claims.</param>
    /// <param name="tool">The tool the request names.</param>
    /// <param name="method">The request's method.</param>
    /// <param name="path">The normalized path.</param>
    /// <param name="issuer">This server's issuer: the audience of mission tokens, which never pass.</param>
    public static ProxyDecision Authorize(AccessTokenClaims claims, Tool tool, string method, ProxyPath path, string issuer)
    {
        if (CheckAudience(claims, tool, issuer) is { } refused)
        {
            return refused;
        }

        foreach (var scope in claims.Scope)
        {
            if (!tool.Rules.TryGetValue(scope, out var rules))
            {
                continue;
            }

            foreach (var rule in rules)
            {
                if (rule.Matches(method, path.Path))
                {
                    return ProxyDecision.Allow(scope, rule);
                }
            }
        }

        // Reject requests no rule of the token's scopes allows; HEAD and OPTIONS are not implied by GET.
        return ProxyDecision.Refuse(403, RefusalCodes.ProxyRuleNotMatched, $"no rule of the token's scopes allows {method} {path.Path}");
    }

    /// <summary>The refusal of a token not addressed to <paramref name="tool"/> (a mission token, or another tool's), or null when it is.</summary>
    public static ProxyDecision? CheckAudience(AccessTokenClaims claims, Tool tool, string issuer)
    {
        // Reject mission tokens, whatever the tool's audience: a mission token is for exchanging at
        // the token endpoint, never a credential for a tool, even one misconfigured with the issuer as
        // its audience. A trailing slash does not make another audience.
        if (claims.Audience.AsSpan().TrimEnd('/').SequenceEqual(issuer.AsSpan().TrimEnd('/')))
        {
            return ProxyDecision.Refuse(403, RefusalCodes.ProxyMissionToken, MissionTokenRefused);
        }

        // Reject tokens addressed to anything else: another tool.
        return string.Equals(claims.Audience, tool.Audience, StringComparison.Ordinal)
            ? null
            : ProxyDecision.Refuse(403, RefusalCodes.ProxyWrongAudience, $"the token is not for tool '{tool.Id}'");
    }
}
