namespace Tessera.Core.Storage;

/// <summary>Runtime state of agents (configuration declares them); changes arrive as <see cref="Identity.AgentSuspension"/>.</summary>
public interface IAgentStateStore
{
    /// <summary>Suspended agents and since when.</summary>
    Task<IReadOnlyList<(string AgentId, DateTimeOffset SuspendedAt)>> LoadSuspendedAsync(CancellationToken cancellationToken);
}
