using Tessera.Core.Protocol;
using Tessera.Core.Storage;

namespace Tessera.Core.Identity;

/// <summary>
/// The outcome of client authentication. On failure <see cref="Error"/> is what the caller sees
/// (identical for every unknown client and wrong secret); <see cref="Reason"/> is what the audit
/// log records, and is never sent on the wire.
/// </summary>
public sealed record ClientAuthentication(Agent? Agent, string? ClaimedClientId, OAuthError? Error, string? Reason)
{
    /// <summary>On failure, the refusal's code (<see cref="RefusalCodes"/>), recorded with <see cref="Reason"/>.</summary>
    public string? Code { get; init; }

    /// <summary>On failure, the refusal as a whole: what the caller sees and what is recorded.</summary>
    public Refusal? Refusal => Error is null ? null : new Refusal(Code ?? RefusalCodes.ClientUnknown, Error, Reason ?? "");

    public bool Succeeded => Agent is not null && Error is null;

    /// <summary>The spent assertion to persist with the request's audit event, for <c>private_key_jwt</c>.</summary>
    public AssertionUsed? Assertion { get; init; }

    /// <summary>What must be stored with the audit event that records this request.</summary>
    public IReadOnlyList<StateChange> Changes => Assertion is null ? [] : [Assertion];

    /// <summary>
    /// Refused by a rate limit before anything was checked: the caller answers 429 and records no
    /// event of its own (the limit counts these refusals and records them together).
    /// </summary>
    public bool Throttled { get; init; }

    public static ClientAuthentication Limited(string? claimedClientId, Limits.LimitVerdict verdict) =>
        new(null, claimedClientId, new OAuthError(OAuthErrorCodes.SlowDown, $"{verdict.Limit}; retry after {verdict.RetryAfterSeconds} seconds.", 429)
        {
            RetryAfter = verdict.RetryAfter,
        }, "rate limited") { Throttled = true, Code = RefusalCodes.ClientRateLimited };

    public static ClientAuthentication Success(Agent agent, AssertionUsed? assertion = null) => new(agent, agent.Id, null, null) { Assertion = assertion };

    public static ClientAuthentication Failure(string? claimedClientId, string code, string reason, OAuthError? error = null) =>
        new(null, claimedClientId, error ?? OAuthError.InvalidClient, reason) { Code = code };
}
