namespace Tessera.Core.Tests.Proxy;

/// <summary>Use counters in memory, counted under one lock as the shared store counts them in one conditional write.</summary>
internal sealed class MemoryTokenUseStore : ITokenUseStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _uses = new(StringComparer.Ordinal);

    public Task<int?> TryConsumeAsync(string jti, int maxUses, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var used = _uses.GetValueOrDefault(jti);
            if (used >= maxUses)
            {
                return Task.FromResult<int?>(null);
            }

            _uses[jti] = used + 1;
            return Task.FromResult<int?>(used + 1);
        }
    }

    public Task PruneAsync(DateTimeOffset now, CancellationToken cancellationToken) => Task.CompletedTask;
}
