namespace Tessera.Core.Tests.Identity;

public sealed class SharedReplayCacheTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly FakeTimeProvider _time = new(T0);
    private readonly MemoryReplayStore _store = new();

    private SharedReplayCache Node() => new(new MemoryReplayCache(_time), _store, _time);

    [Fact]
    public async Task A_key_used_at_one_node_is_refused_at_every_other_node_sharing_the_store()
    {
        var (a, b, c) = (Node(), Node(), Node());

        Assert.True(await a.TryUseAsync("dpop:jkt:jti-1", T0.AddMinutes(3), Ct));

        Assert.False(await b.TryUseAsync("dpop:jkt:jti-1", T0.AddMinutes(3), Ct));
        Assert.False(await c.TryUseAsync("dpop:jkt:jti-1", T0.AddMinutes(3), Ct));
        Assert.True(await b.TryUseAsync("dpop:jkt:jti-2", T0.AddMinutes(3), Ct));
    }

    [Fact]
    public async Task A_replay_at_the_node_that_saw_the_key_is_refused_without_asking_the_store()
    {
        var a = Node();
        Assert.True(await a.TryUseAsync("assertion\nagent\njti-1", T0.AddMinutes(1), Ct));
        Assert.Equal(1, _store.Writes);

        Assert.False(await a.TryUseAsync("assertion\nagent\njti-1", T0.AddMinutes(1), Ct));
        Assert.Equal(1, _store.Writes);
    }

    [Fact]
    public async Task A_key_is_usable_again_once_it_expired()
    {
        var (a, b) = (Node(), Node());
        Assert.True(await a.TryUseAsync("dpop:jkt:jti-1", T0.AddMinutes(3), Ct));

        _time.Advance(TimeSpan.FromMinutes(3) + TimeSpan.FromTicks(1));

        Assert.True(await b.TryUseAsync("dpop:jkt:jti-1", T0.AddMinutes(7), Ct));
    }
}
