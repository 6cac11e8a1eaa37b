namespace Tessera.Core.Tests.Revocation;

public sealed class RevokedIdSetTests
{
    [Fact]
    public void Our_token_and_mission_ids_are_found_and_others_are_not()
    {
        var set = new RevokedIdSet();
        var jti = TokenService.NewId();
        var mission = "m_" + TokenService.NewId();
        set.Add(jti, 100);
        set.Add(mission, 100);

        Assert.True(set.Contains(jti));
        Assert.True(set.Contains(mission));
        Assert.False(set.Contains(TokenService.NewId()));
        Assert.False(set.Contains("m_" + TokenService.NewId()));
        Assert.Equal(2, set.Count);
    }

    [Fact]
    public void Ids_of_any_other_shape_are_kept_exactly()
    {
        var set = new RevokedIdSet();
        set.Add("legacy-id-42", 100);
        Assert.True(set.Contains("legacy-id-42"));
        Assert.False(set.Contains("legacy-id-43"));
    }

    [Fact]
    public void Another_spelling_of_an_id_is_another_id()
    {
        var set = new RevokedIdSet();
        var jti = TokenService.NewId();
        set.Add(jti, 100);
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var last = Alphabet.IndexOf(jti[^1], StringComparison.Ordinal);
        for (var other = 1; other < 16; other++)
        {
            Assert.False(set.Contains(jti[..^1] + Alphabet[last ^ other]));
        }

        Assert.False(set.Contains(jti + " "));
        Assert.False(set.Contains("m_" + jti));
    }

    [Fact]
    [Trait("Speed", "Slow")] // a million entries: seconds of CPU
    public void A_million_revoked_ids_leave_every_other_id_alone()
    {
        var set = new RevokedIdSet();
        for (var i = 0; i < 1_000_000; i++)
        {
            set.Add(TokenService.NewId(), 100);
        }

        Assert.Equal(1_000_000, set.Count);
        for (var i = 0; i < 100_000; i++)
        {
            Assert.False(set.Contains(TokenService.NewId()));
        }
    }

    [Fact]
    public void Pruning_removes_only_expired_ids_and_a_later_expiry_wins()
    {
        var set = new RevokedIdSet();
        var a = TokenService.NewId();
        var b = TokenService.NewId();
        set.Add(a, 100);
        set.Add(b, 100);
        set.Add(b, 300);

        Assert.Equal(1, set.Prune(200));
        Assert.False(set.Contains(a));
        Assert.True(set.Contains(b));
    }
}
