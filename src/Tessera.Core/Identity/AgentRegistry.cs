using System.Collections.Frozen;
using Tessera.Core.Configuration;

namespace Tessera.Core.Identity;

/// <summary>The agents declared in configuration, by client id.</summary>
public sealed class AgentRegistry
{
    private readonly FrozenDictionary<string, Agent> _agents;

    public AgentRegistry(IEnumerable<AgentOptions> agents) =>
        _agents = agents.Select(a => new Agent(a)).ToFrozenDictionary(a => a.Id, StringComparer.Ordinal);

    public IReadOnlyCollection<Agent> All => _agents.Values;

    public Agent? Find(string clientId) => _agents.GetValueOrDefault(clientId);
}
