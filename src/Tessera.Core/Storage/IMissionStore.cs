using Tessera.Core.Missions;

namespace Tessera.Core.Storage;

/// <summary>Missions; new ones arrive as <see cref="MissionStarted"/> state changes with their audit event.</summary>
public interface IMissionStore
{
    Task<MissionRecord?> FindAsync(string id, CancellationToken cancellationToken);

    /// <summary>Missions started at or after <paramref name="since"/>, newest first.</summary>
    Task<IReadOnlyList<MissionRecord>> ListAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken);
}
