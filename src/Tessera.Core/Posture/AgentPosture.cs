namespace Tessera.Core.Posture;

/// <summary>One agent in the posture report.</summary>
/// <param name="Id">The agent's client id.</param>
/// <param name="Owner">The person or team answerable for it.</param>
/// <param name="Purpose">What it is registered for.</param>
/// <param name="Expires">When its registration ends.</param>
/// <param name="Status">active, suspended or expired (<see cref="Identity.AgentStatus"/>).</param>
/// <param name="LastTokenAt">When it last got a token; null when never (on record).</param>
/// <param name="ScopesUsed">Its allowed scopes granted within the window.</param>
/// <param name="ScopesUnused">Its allowed scopes not granted within the window.</param>
/// <param name="Reach">What it can reach (its blast radius).</param>
/// <param name="RightSizedScopes">The smallest <c>allowed_scopes</c> that still allows every use in the window; null when nothing would change.</param>
public sealed record AgentPosture(
    string Id,
    string Owner,
    string Purpose,
    DateTimeOffset Expires,
    string Status,
    DateTimeOffset? LastTokenAt,
    IReadOnlyList<string> ScopesUsed,
    IReadOnlyList<string> ScopesUnused,
    AgentReach Reach,
    IReadOnlyList<string>? RightSizedScopes);
