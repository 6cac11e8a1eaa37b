namespace Tessera.Core.Identity;

/// <summary>What a client presented to authenticate, already taken apart by the HTTP layer.</summary>
/// <param name="Method">One of <see cref="ClientAuthMethods"/>.</param>
/// <param name="ClientId">The claimed client id (may be attacker-chosen; never trusted before verification).</param>
/// <param name="Secret">The client secret for the secret methods.</param>
/// <param name="Assertion">The RFC 7523 client assertion for <c>private_key_jwt</c>.</param>
public sealed record ClientAuthenticationAttempt(string Method, string? ClientId, string? Secret, string? Assertion)
{
    /// <summary>Where the request came from: failed authentications are counted per source (<see cref="Limits.RateLimits"/>).</summary>
    public Limits.SourceAddress Source { get; init; }

    /// <summary>Never print the secret or the assertion, even by accident in a debugger or log.</summary>
    public override string ToString() => $"ClientAuthenticationAttempt {{ Method = {Method}, ClientId = {ClientId} }}";
}
