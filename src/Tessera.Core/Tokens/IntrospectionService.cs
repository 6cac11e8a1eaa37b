using Tessera.Core.Protocol;
using Tessera.Core.Audit;

namespace Tessera.Core.Tokens;

/// <summary>
/// RFC 7662 introspection. Anything not active — malformed, foreign, expired, revoked, or not the
/// caller's to see — is exactly <c>{"active":false}</c>, so the answer reveals nothing.
/// </summary>
public sealed class IntrospectionService(AccessTokenValidator validator, Configuration.LiveConfig live, AuditLog audit)
{
    /// <summary>
    /// The refusal of a node that is not current with the others on its database (503), or null when
    /// it may answer: checked before <see cref="IntrospectAsync"/>, since "inactive" from a node that
    /// missed a revocation elsewhere would be no better an answer than "active".
    /// </summary>
    public Refusal? RefuseIfStale() => validator.IsCurrent
        ? null
        : new Refusal(RefusalCodes.ClusterStale, OAuthError.ClusterStale, "this node is not current with the other nodes of its installation");

    /// <summary>Returns the claims of an active token the caller may see, or null for <c>{"active":false}</c>.</summary>
    public async Task<AccessTokenClaims?> IntrospectAsync(OAuthCaller caller, string token, string? requestId, CancellationToken cancellationToken)
    {
        var validation = await validator.ValidateAsync(token, cancellationToken);
        if (!validation.IsActive)
        {
            return null;
        }

        var claims = validation.Claims!;

        // An agent may introspect only tokens in which it is the client or an actor (docs/delegation.md),
        // or, as a tool's own client, tokens addressed to that tool.
        if (caller.Agent is { } agent && claims.ClientId != agent.Id && !claims.ActorChain.Contains(agent.Id)
            && !live.Current.Tools.All.Any(t => t.Options.ClientId == agent.Id && t.Audience == claims.Audience))
        {
            await audit.AppendAsync(new AuditRecord
            {
                Type = AuditTypes.IntrospectionDenied,
                Outcome = AuditOutcomes.Denied,
                Agent = agent.Id,
                Principal = claims.Principal,
                ActorChain = claims.ActorChain,
                Mission = claims.Mission,
                Jti = claims.Jti,
                Reason = "caller is neither the token's client, an actor in it, nor the client of its tool",
                RequestId = requestId,
            }, cancellationToken: cancellationToken);
            return null;
        }

        return claims;
    }
}
