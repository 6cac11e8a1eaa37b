using System.Collections.Concurrent;

namespace Tessera.Core.Identity;

/// <summary>The single-node replay cache: entries live until their expiry and are pruned as time passes.</summary>
public sealed class MemoryReplayCache(TimeProvider time) : IReplayCache
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _used = new(StringComparer.Ordinal);
    private long _nextPruneTicks;

    public ValueTask<bool> TryUseAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        PruneIfDue(now);
        while (true)
        {
            if (_used.TryAdd(key, expiresAt))
            {
                return ValueTask.FromResult(true);
            }

            if (_used.TryGetValue(key, out var existing) && existing > now)
            {
                return ValueTask.FromResult(false);
            }

            // The old entry expired: replace it atomically, or loop if another caller raced us.
            if (_used.TryUpdate(key, expiresAt, existing))
            {
                return ValueTask.FromResult(true);
            }
        }
    }

    public int Count => _used.Count;

    /// <summary>Marks <paramref name="key"/> as used until <paramref name="expiresAt"/> (loading what storage remembers).</summary>
    public void Remember(string key, DateTimeOffset expiresAt) => _used.AddOrUpdate(key, expiresAt, (_, old) => old > expiresAt ? old : expiresAt);

    private void PruneIfDue(DateTimeOffset now)
    {
        var due = Interlocked.Read(ref _nextPruneTicks);
        if (now.UtcTicks < due || Interlocked.CompareExchange(ref _nextPruneTicks, now.UtcTicks + TimeSpan.TicksPerMinute, due) != due)
        {
            return;
        }

        foreach (var (key, expiry) in _used)
        {
            if (expiry <= now)
            {
                _used.TryRemove(KeyValuePair.Create(key, expiry));
            }
        }
    }
}
