using Tessera.Core.Revocation;
using Tessera.Core.Tokens;

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
    public void A_non_canonical_spelling_of_an_id_is_not_the_same_id()
    {
        var set = new RevokedIdSet();
        var jti = TokenService.NewId();
        set.Add(jti, 100);
        // The last of 22 base64url characters carries 4 unused bits; setting any spells another string
        // that a lenient decoder would map onto the same 16 bytes.
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var last = Alphabet.IndexOf(jti[^1], StringComparison.Ordinal);
        Assert.Equal(0, last & 0b1111);
        for (var unused = 1; unused < 16; unused++)
        {
            Assert.False(set.Contains(jti[..^1] + Alphabet[last | unused]));
        }

        Assert.Equal(Convert.FromBase64String(jti.Replace('-', '+').Replace('_', '/') + "=="), System.Buffers.Text.Base64Url.DecodeFromChars(jti));
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
