using Tessera.Core.Protocol;

namespace Tessera.Core.Identity;

/// <summary>
/// The outcome of client authentication. On failure <see cref="Error"/> is what the caller sees
/// (identical for every unknown client and wrong secret); <see cref="Reason"/> is what the audit
/// log records, and is never sent on the wire.
/// </summary>
public sealed record ClientAuthentication(Agent? Agent, string? ClaimedClientId, OAuthError? Error, string? Reason)
{
    public bool Succeeded => Agent is not null && Error is null;

    public static ClientAuthentication Success(Agent agent) => new(agent, agent.Id, null, null);

    public static ClientAuthentication Failure(string? claimedClientId, string reason, OAuthError? error = null) =>
        new(null, claimedClientId, error ?? OAuthError.InvalidClient, reason);
}
