namespace Tessera.Core.Tests.Tokens;

public sealed class SigningKeyRingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Retention = TimeSpan.FromMinutes(61);

    // k1 signs from T0; k2 is created at T0+1h and published a minute before it signs; k3 later still.
    private readonly SigningKey _k1 = SigningKey.Generate(T0, T0);
    private readonly SigningKey _k2 = SigningKey.Generate(T0.AddHours(1), T0.AddHours(1).AddMinutes(1));
    private readonly SigningKey _k3 = SigningKey.Generate(T0.AddHours(2), T0.AddHours(2).AddMinutes(1));

    [Fact]
    public void The_signing_key_at_a_time_is_the_newest_activated_one()
    {
        var ring = new SigningKeyRing([_k3, _k1, _k2]);

        Assert.Same(_k1, ring.SigningKeyAt(T0));
        Assert.Same(_k1, ring.SigningKeyAt(_k2.ActivatesAt.AddTicks(-1)));
        Assert.Same(_k2, ring.SigningKeyAt(_k2.ActivatesAt));
        Assert.Same(_k2, ring.SigningKeyAt(_k3.ActivatesAt.AddSeconds(-1)));
        Assert.Same(_k3, ring.SigningKeyAt(_k3.ActivatesAt.AddDays(30)));
    }

    [Fact]
    public void Nothing_signs_before_the_first_key_activates() =>
        Assert.Null(new SigningKeyRing([_k1]).SigningKeyAt(T0.AddSeconds(-1)));

    [Fact]
    public void A_pending_key_is_published_but_does_not_sign()
    {
        var ring = new SigningKeyRing([_k1, _k2]);
        var now = _k2.CreatedAt.AddSeconds(30);

        Assert.Same(_k1, ring.SigningKeyAt(now));
        Assert.Null(ring.SupersededAt(_k2, now));
        Assert.Null(ring.SupersededAt(_k1, now));
        Assert.Equal([_k1.Kid, _k2.Kid], ring.PublishedAt(now, Retention).Select(k => k.Kid));
    }

    [Fact]
    public void A_superseded_key_stays_published_for_the_retention_then_is_dropped()
    {
        var ring = new SigningKeyRing([_k1, _k2]);
        var superseded = _k2.ActivatesAt;

        Assert.Equal(superseded, ring.SupersededAt(_k1, superseded));
        Assert.Contains(_k1, ring.PublishedAt(superseded, Retention));
        Assert.Contains(_k1, ring.PublishedAt(superseded + Retention - TimeSpan.FromSeconds(1), Retention));
        Assert.DoesNotContain(_k1, ring.PublishedAt(superseded + Retention, Retention));
        Assert.Equal([_k2], ring.PublishedAt(superseded + Retention + TimeSpan.FromDays(1), Retention));
    }

    [Fact]
    public void A_key_is_superseded_when_the_next_one_activates_not_when_a_later_one_does()
    {
        var ring = new SigningKeyRing([_k1, _k2, _k3]);

        Assert.Equal(_k2.ActivatesAt, ring.SupersededAt(_k1, _k3.ActivatesAt));
        Assert.Equal(_k3.ActivatesAt, ring.SupersededAt(_k2, _k3.ActivatesAt));
        Assert.Null(ring.SupersededAt(_k3, _k3.ActivatesAt));
    }

    [Fact]
    public void Keys_are_found_by_kid()
    {
        var ring = new SigningKeyRing([_k1, _k2]);

        Assert.Same(_k2, ring.Find(_k2.Kid));
        Assert.Null(ring.Find(_k3.Kid));
    }

    [Fact]
    public void A_key_verifies_exactly_while_it_is_published()
    {
        var ring = new SigningKeyRing([_k1, _k2]);
        var superseded = _k2.ActivatesAt;

        Assert.Same(_k1, ring.FindPublished(_k1.Kid, superseded + Retention - TimeSpan.FromSeconds(1), Retention));
        Assert.Null(ring.FindPublished(_k1.Kid, superseded + Retention, Retention));
        Assert.Same(_k2, ring.FindPublished(_k2.Kid, superseded + Retention, Retention));
        Assert.Null(ring.FindPublished(_k3.Kid, superseded, Retention));
    }
}
