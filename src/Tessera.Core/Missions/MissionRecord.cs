namespace Tessera.Core.Missions;

/// <summary>One unit of agent work with a stated purpose: the root of a delegation tree.</summary>
/// <param name="Id">The mission id, carried by every token of the mission.</param>
/// <param name="Principal">The principal's <c>sub</c>.</param>
/// <param name="Idp">The identity provider that vouched for the principal.</param>
/// <param name="ActorChain">The agent that started the mission.</param>
/// <param name="Purpose">The purpose the agent stated, if any.</param>
/// <param name="StartedAt">When the mission started.</param>
/// <param name="ExpiresAt">When its mission token expires; no token of the mission lives longer.</param>
public sealed record MissionRecord(string Id, string Principal, string Idp, IReadOnlyList<string> ActorChain, string? Purpose, DateTimeOffset StartedAt, DateTimeOffset ExpiresAt);
