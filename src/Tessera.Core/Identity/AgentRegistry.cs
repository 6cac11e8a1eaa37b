using System.Collections.Frozen;
using Tessera.Core.Configuration;

namespace Tessera.Core.Identity;

/// <summary>The agents declared in configuration, by client id and by federated identity.</summary>
public sealed class AgentRegistry
{
    private readonly FrozenDictionary<string, Agent> _agents;
    private readonly FrozenDictionary<PrincipalRef, Agent> _federated;

    public AgentRegistry(IEnumerable<AgentOptions> agents)
    {
        _agents = agents.Select(a => new Agent(a)).ToFrozenDictionary(a => a.Id, StringComparer.Ordinal);
        // The configuration refuses two agents with one (idp, sub); ToFrozenDictionary throws if code builds such a list.
        _federated = _agents.Values.Where(a => a.Federated is not null).ToFrozenDictionary(a => a.Federated!);
    }

    public IReadOnlyCollection<Agent> All => _agents.Values;

    public Agent? Find(string clientId) => _agents.GetValueOrDefault(clientId);

    /// <summary>The agent whose <c>auth.federated</c> is this provider id and subject, if any.</summary>
    public Agent? FindFederated(string idp, string sub) => _federated.GetValueOrDefault(new PrincipalRef(idp, sub));
}
