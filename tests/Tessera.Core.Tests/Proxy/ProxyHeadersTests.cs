namespace Tessera.Core.Tests.Proxy;

public sealed class ProxyHeadersTests
{
    [Fact]
    public void The_connection_header_lists_the_headers_it_names()
    {
        var options = ProxyHeaders.ConnectionOptions(["keep-alive, X-Hop", "close", " ,X-Other ,"], out var refusal);

        Assert.Null(refusal);
        Assert.Equal(["keep-alive", "X-Hop", "close", "X-Other"], options);
    }

    [Theory]
    [InlineData("Content-Type")]
    [InlineData("content-length")]
    [InlineData("Content-Encoding")]
    [InlineData("HOST")]
    public void A_connection_header_naming_a_header_that_describes_the_request_is_refused(string name)
    {
        Assert.Null(ProxyHeaders.ConnectionOptions(["keep-alive, " + name], out var refusal));
        Assert.Equal($"the Connection header may not name {name}, which describes the request itself", refusal);
    }

    [Theory]
    [InlineData("x y")]
    [InlineData("a:b")]
    [InlineData("\"quoted\"")]
    [InlineData("a/b")]
    public void A_malformed_connection_header_is_refused(string value)
    {
        Assert.Null(ProxyHeaders.ConnectionOptions([value], out var refusal));
        Assert.Equal("malformed Connection header", refusal);
    }

    [Fact]
    public void Hop_by_hop_client_address_and_caller_credential_headers_are_all_stripped()
    {
        foreach (var name in new[]
        {
            "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
            "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix", "X-Forwarded-Port",
            "X-Forwarded-Server", "X-Real-IP", "X-Client-IP", "True-Client-IP", "X-Original-Host", "Via",
            "Authorization", "Proxy-Authorization", "DPoP", "Cookie",
        })
        {
            Assert.Contains(name, ProxyHeaders.Stripped);
        }
    }
}
