using Microsoft.Extensions.Time.Testing;

namespace Tessera.Client.AspNetCore.Tests;

public sealed class ProofReplayCacheTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_proof_id_is_accepted_once_while_it_is_remembered()
    {
        var cache = new ProofReplayCache(_time);
        var until = _time.GetUtcNow().AddMinutes(3);

        Assert.True(cache.TryUse("jkt:a", until));
        Assert.False(cache.TryUse("jkt:a", until));
        Assert.True(cache.TryUse("jkt:b", until));
    }

    [Fact]
    public void A_full_cache_of_live_entries_refuses_new_proofs_rather_than_forget_one()
    {
        var cache = new ProofReplayCache(_time, capacity: 2);
        var until = _time.GetUtcNow().AddMinutes(3);
        Assert.True(cache.TryUse("a", until));
        Assert.True(cache.TryUse("b", until));

        Assert.False(cache.TryUse("c", until));
        Assert.False(cache.TryUse("a", until));
    }

    [Fact]
    public void Expired_entries_make_room_when_the_cache_is_full()
    {
        var cache = new ProofReplayCache(_time, capacity: 2);
        Assert.True(cache.TryUse("a", _time.GetUtcNow().AddMinutes(1)));
        Assert.True(cache.TryUse("b", _time.GetUtcNow().AddMinutes(3)));

        _time.Advance(TimeSpan.FromMinutes(2));

        Assert.True(cache.TryUse("c", _time.GetUtcNow().AddMinutes(3)));
        Assert.False(cache.TryUse("b", _time.GetUtcNow().AddMinutes(3)));
    }
}
