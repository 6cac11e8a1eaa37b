namespace Tessera.Client.Tests;

public sealed class TesseraTokenTests
{
    private static readonly DateTimeOffset Expiry = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_copy_with_another_token_carries_that_tokens_header_and_hash()
    {
        var original = new TesseraToken("token-one", Expiry, "crm:read", "DPoP");
        _ = original.Authorization;
        _ = original.Ath;

        var copy = original with { AccessToken = "token-two" };

        Assert.Equal("token-two", copy.Authorization.Parameter);
        Assert.Equal("DPoP", copy.Authorization.Scheme);
        Assert.NotEqual(original.Ath, copy.Ath);
    }

    [Fact]
    public void Tokens_with_the_same_values_are_equal_whether_or_not_their_header_was_made()
    {
        var used = new TesseraToken("token-one", Expiry, "crm:read", "Bearer");
        _ = used.Authorization;

        Assert.Equal(new TesseraToken("token-one", Expiry, "crm:read", "Bearer"), used);
        Assert.Equal(new TesseraToken("token-one", Expiry, "crm:read", "Bearer").GetHashCode(), used.GetHashCode());
    }

    [Fact]
    public void The_text_of_a_token_holds_no_credential() =>
        Assert.DoesNotContain("secret-token", new TesseraToken("secret-token", Expiry, "crm:read", "Bearer").ToString(), StringComparison.Ordinal);
}
