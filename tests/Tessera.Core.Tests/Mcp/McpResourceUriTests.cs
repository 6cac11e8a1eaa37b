namespace Tessera.Core.Tests.Mcp;

public sealed class McpResourceUriTests
{
    [Theory]
    [InlineData("repo://acme/widgets/readme")]
    [InlineData("repo://acme/widgets/issues/7")]
    [InlineData("file:///srv/public/report.2026.pdf")]
    [InlineData("file:///srv/public/.hidden")]
    [InlineData("file:///srv/public/...")]
    [InlineData("file:///srv/public/a..b")]
    [InlineData("https://example.com/a%20b?q=1")]
    [InlineData("repo://acme//widgets")]
    [InlineData("urn:isbn:0451450523")]
    public void Uris_a_server_reads_as_written_are_not_ambiguous(string uri) => Assert.Null(McpResourceUri.Ambiguity(uri));

    [Theory]
    [InlineData("file:///srv/public/../secret", "a '.' or '..' segment")]
    [InlineData("file:///srv/public/./x", "a '.' or '..' segment")]
    [InlineData("file:///srv/public/..", "a '.' or '..' segment")]
    [InlineData("file:///srv/public/.", "a '.' or '..' segment")]
    [InlineData("file:///srv/public/%2e%2e/secret", "a '.' or '..' segment")]
    [InlineData("file:///srv/public/%2E./secret", "a '.' or '..' segment")]
    [InlineData("file:///srv/public/.%2E", "a '.' or '..' segment")]
    [InlineData("file:///srv/public/readme?../../secret", "a '.' or '..' segment")]
    [InlineData("file:///srv/public/..%2fsecret", "an encoded '/' or '\\'")]
    [InlineData("file:///srv/public/..%2Fsecret", "an encoded '/' or '\\'")]
    [InlineData("file:///srv/public/..%5Csecret", "an encoded '/' or '\\'")]
    [InlineData("file:///srv/public/..\\secret", "a backslash")]
    [InlineData("file:///srv/public/%252e%252e/secret", "an encoded '%'")]
    public void Uris_a_server_could_read_as_another_resource_are_ambiguous(string uri, string why) => Assert.Equal(why, McpResourceUri.Ambiguity(uri));
}
