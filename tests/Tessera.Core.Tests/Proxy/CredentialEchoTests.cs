namespace Tessera.Core.Tests.Proxy;

public sealed class CredentialEchoTests
{
    [Theory]
    [InlineData("s3cret", true)]
    [InlineData("xs3cret", true)]
    [InlineData("s3cretx", true)]
    [InlineData("a=s3cret; b=1", true)]
    [InlineData("s3cre", false)]
    [InlineData("S3CRET", false)]
    [InlineData("s3cr3t", false)]
    [InlineData("", false)]
    public void A_value_contains_the_secret_only_when_it_holds_it_exactly(string text, bool expected)
    {
        Assert.Equal(expected, CredentialEcho.Contains(text, "s3cret"));
    }

    [Fact]
    public void An_empty_secret_is_never_found()
    {
        Assert.False(CredentialEcho.Contains("anything", ""));
    }

    [Theory]
    [InlineData("Bearer {secret}", "Bearer ghp_abc", "ghp_abc")]
    [InlineData("token={secret};v=1", "token=k1;v=1", "k1")]
    [InlineData("{secret}:{secret}", "ab:ab", "ab")]
    [InlineData(null, "raw-value", "raw-value")]
    public void The_secret_is_located_in_the_injected_value_by_its_format(string? format, string value, string secret)
    {
        Assert.Equal(secret, value[CredentialEcho.SecretIn(value, format)]);
    }
}
