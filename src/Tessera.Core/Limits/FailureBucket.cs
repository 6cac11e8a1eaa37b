namespace Tessera.Core.Limits;

/// <summary>
/// The failures of one source or client id: a token bucket that each failure drains by one and
/// time refills, and the count of requests refused while it was empty (reported, not each recorded).
/// </summary>
internal sealed class FailureBucket(int capacity, long now)
{
    private readonly Lock _lock = new();
    private double _tokens = capacity;
    private long _updated = now;
    private long _refused;
    private long _refusedSinceStart;
    private DateTimeOffset? _limitedSince;
    private DateTimeOffset _reportedAt;
    private bool _retired;

    /// <summary>Whether another attempt may go on. Refusals are counted; the first of an episode says so.</summary>
    public (bool Allowed, TimeSpan RetryAfter, bool Started) Check(FailureRule rule, TimeProvider time, long now)
    {
        lock (_lock)
        {
            Refill(rule, time, now);
            if (_tokens >= 1)
            {
                return (true, TimeSpan.Zero, false);
            }

            _refused++;
            _refusedSinceStart++;
            var started = _limitedSince is null;
            if (started)
            {
                _limitedSince = time.GetUtcNow();
                _reportedAt = _limitedSince.Value;
            }

            return (false, TimeSpan.FromSeconds((1 - _tokens) / rule.PerSecond), started);
        }
    }

    /// <summary>Counts one failure; false when the bucket was retired meanwhile (the caller takes a fresh one).</summary>
    public bool Fail(FailureRule rule, TimeProvider time, long now)
    {
        lock (_lock)
        {
            if (_retired)
            {
                return false;
            }

            Refill(rule, time, now);

            // Never below empty: a burst of failures in flight at once costs the same wait as one.
            _tokens = Math.Max(0, _tokens - 1);
            return true;
        }
    }

    /// <summary>
    /// The summary due for this bucket, if it is limiting: the refusals since the last report, or,
    /// when a whole period passed without one, the end of the episode.
    /// </summary>
    public (long Refused, DateTimeOffset From, bool Ended)? Report(DateTimeOffset now)
    {
        lock (_lock)
        {
            if (_limitedSince is not { } since)
            {
                return null;
            }

            if (_refused > 0)
            {
                var summary = (_refused, _reportedAt, false);
                _refused = 0;
                _reportedAt = now;
                return summary;
            }

            var ended = (_refusedSinceStart, since, true);
            _limitedSince = null;
            _refusedSinceStart = 0;
            return ended;
        }
    }

    /// <summary>Retires the bucket when it holds nothing (full, not limiting): <paramref name="remove"/> takes it out of its table.</summary>
    public bool TryRetire(FailureRule rule, TimeProvider time, long now, Func<bool> remove)
    {
        lock (_lock)
        {
            Refill(rule, time, now);
            if (_limitedSince is not null || _tokens < rule.Capacity || !remove())
            {
                return false;
            }

            _retired = true;
            return true;
        }
    }

    private void Refill(FailureRule rule, TimeProvider time, long now)
    {
        var elapsed = time.GetElapsedTime(_updated, now).TotalSeconds;
        if (elapsed > 0)
        {
            _tokens = Math.Min(rule.Capacity, _tokens + (elapsed * rule.PerSecond));
            _updated = now;
        }
    }
}
