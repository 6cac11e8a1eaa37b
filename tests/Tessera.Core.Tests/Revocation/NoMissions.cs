namespace Tessera.Core.Tests.Revocation;

/// <summary>A mission store that knows no mission.</summary>
internal sealed class NoMissions : IMissionStore
{
    public Task<MissionRecord?> FindAsync(string id, CancellationToken cancellationToken) => Task.FromResult<MissionRecord?>(null);

    public Task<IReadOnlyList<MissionRecord>> ListAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<MissionRecord>>([]);
}
