namespace Tessera.Core.Tests.Proxy;

public sealed class ProxyQueryTests
{
    [Theory]
    [InlineData("")]
    [InlineData("a=1")]
    [InlineData("a=1&b=2")]
    [InlineData("q=jane%20doe&fields=name,email")]
    [InlineData("filter[status]=open")]
    [InlineData("percent=%25&slash=%2F&amp=%26&plus=%2B")]
    [InlineData("name=Jos%C3%A9")]
    [InlineData("emoji=%F0%9F%98%80")]
    [InlineData("a=b?c/d:e@f;g!h$i'j(k)l*m+n,o~p")]
    [InlineData("flag")]
    public void A_well_formed_query_may_be_forwarded(string query)
    {
        Assert.Null(ProxyQuery.Check(query));
    }

    [Theory]
    [InlineData("a=%", "incomplete percent-encoding")]
    [InlineData("a=%2", "incomplete percent-encoding")]
    [InlineData("a=%zz", "invalid percent-encoding")]
    [InlineData("a=%g1", "invalid percent-encoding")]
    [InlineData("a=%+1", "invalid percent-encoding")]
    [InlineData("a=%00", "encoded control character")]
    [InlineData("a=%0d%0aX-Injected:%20yes", "encoded control character")]
    [InlineData("a=%09", "encoded control character")]
    [InlineData("a=%1F", "encoded control character")]
    [InlineData("a=%7f", "encoded control character")]
    [InlineData("a=%ff", "percent-encoded bytes are not UTF-8")]
    [InlineData("a=%c0%af", "percent-encoded bytes are not UTF-8")]
    [InlineData("a=%e2%82", "percent-encoded bytes are not UTF-8")]
    [InlineData("a=%e2%82x", "percent-encoded bytes are not UTF-8")]
    [InlineData("a=%ed%a0%80", "percent-encoded bytes are not UTF-8")]
    [InlineData("a=b c", "raw control, space or non-ASCII character")]
    [InlineData("a=\t", "raw control, space or non-ASCII character")]
    [InlineData("a=\u007f", "raw control, space or non-ASCII character")]
    [InlineData("a=é", "raw control, space or non-ASCII character")]
    [InlineData("a=\u202e", "raw control, space or non-ASCII character")]
    [InlineData("a=#b", "'#' must be percent-encoded")]
    [InlineData("a=\\b", "'\\' must be percent-encoded")]
    [InlineData("a=\"b\"", "'\"' must be percent-encoded")]
    [InlineData("a=<b>", "'<' must be percent-encoded")]
    [InlineData("a={b}", "'{' must be percent-encoded")]
    [InlineData("a=b|c", "'|' must be percent-encoded")]
    [InlineData("a=^", "'^' must be percent-encoded")]
    [InlineData("a=`", "'`' must be percent-encoded")]
    public void A_query_an_upstream_could_read_otherwise_is_refused_with_its_reason(string query, string reason)
    {
        Assert.Equal(reason, ProxyQuery.Check(query));
    }

    [Fact]
    public void A_long_query_is_checked_for_utf8_as_a_whole()
    {
        var valid = string.Concat(Enumerable.Repeat("%C3%A9", 400));
        Assert.Null(ProxyQuery.Check("a=" + valid));
        Assert.Equal("percent-encoded bytes are not UTF-8", ProxyQuery.Check("a=" + valid + "%C3"));
    }
}
