using Tessera.Core.Identity;

namespace Tessera.Core.Tokens;

/// <summary>Who asks to introspect: an authenticated agent (sees only tokens it holds or acts in) or an admin (sees all).</summary>
public sealed record IntrospectionCaller(Agent? Agent, string? Admin)
{
    public static IntrospectionCaller ForAgent(Agent agent) => new(agent, null);

    public static IntrospectionCaller ForAdmin(string admin) => new(null, admin);

    public string Name => Agent?.Id ?? Admin ?? "unknown";
}
