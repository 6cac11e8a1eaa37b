using System.Collections.Concurrent;

namespace Tessera.Client.AspNetCore;

/// <summary>
/// The DPoP proof ids (<c>jti</c>) seen by this process, each kept until a proof of that age would be
/// refused anyway. Per instance: several instances of a tool behind a load balancer do not share it, so a
/// proof replayed to another instance within the proof window is not caught there (the token is still
/// bound to the key, and the window is short). Bounded: when full of live entries it refuses new proofs
/// (fail closed) rather than forget one that could be replayed.
/// </summary>
internal sealed class ProofReplayCache(TimeProvider time, int capacity = ProofReplayCache.DefaultCapacity)
{
    internal const int DefaultCapacity = 100_000;

    private readonly ConcurrentDictionary<string, long> _seen = new(StringComparer.Ordinal);
    private readonly Lock _pruning = new();

    /// <summary>Records <paramref name="key"/> until <paramref name="until"/>; false when it was already recorded (a replay) or the cache is full.</summary>
    public bool TryUse(string key, DateTimeOffset until)
    {
        var now = time.GetUtcNow().UtcTicks;
        if (_seen.Count >= capacity)
        {
            Prune(now);
            if (_seen.Count >= capacity)
            {
                return false;
            }
        }

        if (_seen.TryAdd(key, until.UtcTicks))
        {
            return true;
        }

        // An entry past its time may be reused: a proof that old is refused by its iat before it gets here.
        return _seen.TryGetValue(key, out var expires) && expires <= now && _seen.TryUpdate(key, until.UtcTicks, expires);
    }

    private void Prune(long now)
    {
        lock (_pruning)
        {
            foreach (var (key, expires) in _seen)
            {
                if (expires <= now)
                {
                    _seen.TryRemove(KeyValuePair.Create(key, expires));
                }
            }
        }
    }
}
