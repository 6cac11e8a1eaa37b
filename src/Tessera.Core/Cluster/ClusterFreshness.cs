namespace Tessera.Core.Cluster;

/// <summary>
/// Whether this node can vouch that its in-memory state (revocations, suspensions, keys, vault,
/// approvals) includes every change another node committed more than <c>max_staleness</c> ago. The
/// token endpoint, introspection, the proxy and <c>/readyz</c> refuse while it cannot (fail closed:
/// a node cut off from the change log would otherwise accept a token another node revoked).
/// </summary>
/// <remarks>
/// The hot path pays one volatile read and one monotonic clock read. "Current as of" is the
/// monotonic time at which the last complete read of the change log began: that read returned every
/// change committed before it began, so the node then knew everything up to that instant.
/// </remarks>
public sealed class ClusterFreshness
{
    private const long Never = long.MinValue;

    private readonly TimeProvider _time;
    private readonly TimeSpan _maxStaleness;
    private readonly bool _shared;
    private long _currentAsOf = Never;

    /// <param name="time">The clock; its monotonic timestamps measure staleness.</param>
    /// <param name="maxStaleness">The longest a change may go unseen (<c>cluster.max_staleness</c>).</param>
    /// <param name="shared">False for a store that is one node (SQLite): such a node is always current.</param>
    public ClusterFreshness(TimeProvider time, TimeSpan maxStaleness, bool shared)
    {
        _time = time;
        _maxStaleness = maxStaleness;
        _shared = shared;
    }

    /// <summary>For a node that is alone on its store: always current.</summary>
    public static ClusterFreshness Alone(TimeProvider time) => new(time, TimeSpan.MaxValue, shared: false);

    /// <summary>The longest a change may go unseen before this node refuses.</summary>
    public TimeSpan MaxStaleness => _maxStaleness;

    /// <summary>True while the last complete read of the change log began at most max_staleness ago (always, alone).</summary>
    public bool IsCurrent
    {
        get
        {
            if (!_shared)
            {
                return true;
            }

            var asOf = Volatile.Read(ref _currentAsOf);
            return asOf != Never && _time.GetElapsedTime(asOf) <= _maxStaleness;
        }
    }

    /// <summary>
    /// Records that every change committed before <paramref name="timestamp"/> (a
    /// <see cref="TimeProvider.GetTimestamp"/> taken before the read began) is applied. Never moves back.
    /// </summary>
    public void MarkCurrent(long timestamp)
    {
        var seen = Volatile.Read(ref _currentAsOf);
        while (timestamp > seen)
        {
            var found = Interlocked.CompareExchange(ref _currentAsOf, timestamp, seen);
            if (found == seen)
            {
                return;
            }

            seen = found;
        }
    }
}
