using System.Collections.Concurrent;

namespace Tessera.Core.Limits;

/// <summary>
/// The buckets of one limit, by source or client id. A key is tracked from its first failure until
/// its bucket is full again, and at most <paramref name="maxTracked"/> keys are: past that, failures
/// of keys not yet tracked share one bucket, so a flood that invents a new
/// key per request costs bounded memory and is limited as one.
/// </summary>
internal sealed class FailureTable<TKey>(FailureRule rule, int maxTracked, TimeProvider time)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, FailureBucket> _buckets = new();
    private readonly FailureBucket _others = new(rule.Capacity, time.GetTimestamp());
    private int _count;

    public FailureRule Rule => rule;

    /// <summary>How many keys have a bucket of their own.</summary>
    public int Tracked => Volatile.Read(ref _count);

    /// <summary>
    /// Whether <paramref name="key"/> may make another attempt. A key without failures has no bucket
    /// and is allowed at the cost of one lookup; that is every key on a healthy server.
    /// </summary>
    public (bool Allowed, TimeSpan RetryAfter, bool Started, bool Others) Check(TKey key)
    {
        FailureBucket bucket;
        var others = false;
        if (!_buckets.TryGetValue(key, out var own))
        {
            if (Volatile.Read(ref _count) < maxTracked)
            {
                return (true, TimeSpan.Zero, false, false);
            }

            bucket = _others;
            others = true;
        }
        else
        {
            bucket = own;
        }

        var (allowed, retryAfter, started) = bucket.Check(rule, time, time.GetTimestamp());
        return (allowed, retryAfter, started, others);
    }

    public void Fail(TKey key)
    {
        var now = time.GetTimestamp();
        while (true)
        {
            if (!_buckets.TryGetValue(key, out var bucket))
            {
                if (Interlocked.Increment(ref _count) > maxTracked)
                {
                    Interlocked.Decrement(ref _count);
                    _others.Fail(rule, time, now);
                    return;
                }

                bucket = new FailureBucket(rule.Capacity, now);
                if (!_buckets.TryAdd(key, bucket))
                {
                    Interlocked.Decrement(ref _count);
                    continue;
                }
            }

            if (bucket.Fail(rule, time, now))
            {
                return;
            }
        }
    }

    /// <summary>The summaries due (<see cref="FailureBucket.Report"/>), and retires the buckets that hold nothing any more.</summary>
    public List<(TKey? Key, long Refused, DateTimeOffset From, bool Ended)> Sweep()
    {
        var now = time.GetTimestamp();
        var utc = time.GetUtcNow();
        var due = new List<(TKey?, long, DateTimeOffset, bool)>();
        foreach (var (key, bucket) in _buckets)
        {
            if (bucket.Report(utc) is { } summary)
            {
                due.Add((key, summary.Refused, summary.From, summary.Ended));
            }

            if (bucket.TryRetire(rule, time, now, () => _buckets.TryRemove(new KeyValuePair<TKey, FailureBucket>(key, bucket))))
            {
                Interlocked.Decrement(ref _count);
            }
        }

        if (_others.Report(utc) is { } shared)
        {
            due.Add((default, shared.Refused, shared.From, shared.Ended));
        }

        return due;
    }
}
