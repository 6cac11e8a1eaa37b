namespace Tessera.Core.Tests.Identity;

/// <summary>Spent keys as a database shared by several nodes would hold them; counts the conditional writes it is asked for.</summary>
internal sealed class MemoryReplayStore : IReplayStore
{
    private readonly Dictionary<string, DateTimeOffset> _used = new(StringComparer.Ordinal);

    public int Writes { get; private set; }

    public Task<IReadOnlyList<(string Key, DateTimeOffset ExpiresAt)>> LoadActiveAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<(string, DateTimeOffset)>>([.. _used.Where(u => u.Value >= now).Select(u => (u.Key, u.Value))]);

    public Task<int> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult(_used.Where(u => u.Value < now).Select(u => u.Key).ToList().Count(_used.Remove));

    public Task<bool> TryUseAsync(string key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken)
    {
        Writes++;
        if (_used.TryGetValue(key, out var existing) && existing >= now)
        {
            return Task.FromResult(false);
        }

        _used[key] = expiresAt;
        return Task.FromResult(true);
    }
}
