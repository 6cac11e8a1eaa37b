using Tessera.Core.Cluster;

namespace Tessera.Core.Tests.Cluster;

public sealed class ClusterFreshnessTests
{
    private static readonly TimeSpan MaxStaleness = TimeSpan.FromSeconds(1);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_node_alone_on_its_store_is_always_current()
    {
        var freshness = ClusterFreshness.Alone(_time);

        _time.Advance(TimeSpan.FromDays(1));

        Assert.True(freshness.IsCurrent);
    }

    [Fact]
    public void A_shared_node_is_not_current_before_its_first_complete_read()
    {
        Assert.False(new ClusterFreshness(_time, MaxStaleness, shared: true).IsCurrent);
    }

    [Fact]
    public void A_shared_node_is_current_for_max_staleness_after_its_read_began_and_stale_after()
    {
        var freshness = new ClusterFreshness(_time, MaxStaleness, shared: true);
        var began = _time.GetTimestamp();
        _time.Advance(TimeSpan.FromMilliseconds(300)); // the read took this long
        freshness.MarkCurrent(began);

        _time.Advance(MaxStaleness - TimeSpan.FromMilliseconds(300));
        Assert.True(freshness.IsCurrent);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(freshness.IsCurrent);
    }

    [Fact]
    public void A_read_that_began_earlier_never_moves_current_back()
    {
        var freshness = new ClusterFreshness(_time, MaxStaleness, shared: true);
        var older = _time.GetTimestamp();
        _time.Advance(TimeSpan.FromMilliseconds(800));
        freshness.MarkCurrent(_time.GetTimestamp());
        freshness.MarkCurrent(older); // a slow read finishing after a faster, later one

        _time.Advance(TimeSpan.FromMilliseconds(900));

        Assert.True(freshness.IsCurrent);
    }
}
