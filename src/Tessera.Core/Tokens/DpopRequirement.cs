using Tessera.Core.Identity;
using Tessera.Core.Protocol;
using Tessera.Core.Tools;

namespace Tessera.Core.Tokens;

/// <summary>
/// Where a token must be sender-constrained (RFC 9449): an agent with <c>require_dpop</c> holds only
/// DPoP-bound tokens, and a tool with <c>require_dpop</c> is never reached with a Bearer token.
/// </summary>
internal static class DpopRequirement
{
    /// <summary>
    /// Reject a request without a verified DPoP proof (<paramref name="jkt"/> null) when the agent,
    /// or the tool it asks for, accepts only DPoP-bound tokens. Null when the request may proceed.
    /// </summary>
    public static Refusal? RefuseBearer(Agent agent, Tool? tool, string? jkt)
    {
        if (jkt is not null)
        {
            return null;
        }

        if (agent.RequireDpop)
        {
            return new(RefusalCodes.DpopRequiredByAgent, OAuthError.InvalidRequest($"Agent '{agent.Id}' receives only DPoP-bound tokens; send a DPoP proof."), "agent requires DPoP");
        }

        if (tool is { Options.RequireDpop: true })
        {
            return new(RefusalCodes.DpopRequiredByTool, OAuthError.InvalidRequest($"Tool '{tool.Id}' requires DPoP-bound tokens; send a DPoP proof."), "tool requires DPoP");
        }

        return null;
    }
}
