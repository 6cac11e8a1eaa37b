namespace Tessera.Core.Tests.Tokens;

public sealed class SigningKeyStatusTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    // k1 signs from T0; k2 is created at T0+1h and signs from T0+1h+1min.
    private readonly SigningKey _k1 = SigningKey.Generate(T0, T0);
    private readonly SigningKey _k2 = SigningKey.Generate(T0.AddHours(1), T0.AddHours(1).AddMinutes(1));

    [Fact]
    public void A_rotated_key_is_pending_until_it_activates_while_the_old_one_signs()
    {
        var ring = new SigningKeyRing([_k1, _k2]);
        var now = _k2.ActivatesAt.AddTicks(-1);

        Assert.Equal(SigningKeyStatus.Signing, SigningKeyStatus.Of(ring, _k1, now));
        Assert.Equal(SigningKeyStatus.Pending, SigningKeyStatus.Of(ring, _k2, now));
    }

    [Fact]
    public void Once_the_new_key_activates_it_signs_and_the_old_one_is_retiring()
    {
        var ring = new SigningKeyRing([_k1, _k2]);

        Assert.Equal(SigningKeyStatus.Retiring, SigningKeyStatus.Of(ring, _k1, _k2.ActivatesAt));
        Assert.Equal(SigningKeyStatus.Signing, SigningKeyStatus.Of(ring, _k2, _k2.ActivatesAt));
    }

    [Fact]
    public void Before_any_key_activates_every_key_is_pending()
    {
        var ring = new SigningKeyRing([_k1, _k2]);

        Assert.Equal(SigningKeyStatus.Pending, SigningKeyStatus.Of(ring, _k1, T0.AddSeconds(-1)));
        Assert.Equal(SigningKeyStatus.Pending, SigningKeyStatus.Of(ring, _k2, T0.AddSeconds(-1)));
    }

    [Fact]
    public void The_statuses_are_the_words_of_the_admin_api()
    {
        Assert.Equal("signing", SigningKeyStatus.Signing);
        Assert.Equal("pending", SigningKeyStatus.Pending);
        Assert.Equal("retiring", SigningKeyStatus.Retiring);
    }
}
