using Tessera.Core.Identity;

namespace Tessera.Core.Tokens;

/// <summary>
/// The authenticated caller of an OAuth endpoint that takes either a client or an admin bearer
/// (introspection, revocation): an agent (sees and revokes only tokens it holds or acts in) or an admin (all).
/// </summary>
public sealed record OAuthCaller(Agent? Agent, string? Admin)
{
    public static OAuthCaller ForAgent(Agent agent) => new(agent, null);

    public static OAuthCaller ForAdmin(string admin) => new(null, admin);

    public string Name => Agent?.Id ?? Admin ?? "unknown";
}
