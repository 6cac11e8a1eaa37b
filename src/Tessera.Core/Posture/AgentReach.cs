namespace Tessera.Core.Posture;

/// <summary>
/// An agent's blast radius: the tools its scopes reach, the vault secrets those tools inject on its
/// behalf, and the agents it may hand work to (<c>may_delegate_to</c>, followed transitively).
/// </summary>
public sealed record AgentReach(IReadOnlyList<string> Tools, IReadOnlyList<string> Secrets, IReadOnlyList<string> ViaDelegation);
