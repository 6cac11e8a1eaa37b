using Tessera.Core.Proxy;

namespace Tessera.Core.Tests.Proxy;

public sealed class PathRuleTests
{
    [Theory]
    [InlineData("GET /contacts/**", "GET", "/contacts", true)]
    [InlineData("GET /contacts/**", "GET", "/contacts/42", true)]
    [InlineData("GET /contacts/**", "GET", "/contacts/42/notes/7", true)]
    [InlineData("GET /contacts/**", "GET", "/contactsX", false)]
    [InlineData("GET /contacts/**", "POST", "/contacts/42", false)]
    [InlineData("GET /contacts/**", "get", "/contacts/42", false)]
    [InlineData("GET /accounts/*", "GET", "/accounts/7", true)]
    [InlineData("GET /accounts/*", "GET", "/accounts", false)]
    [InlineData("GET /accounts/*", "GET", "/accounts/7/owner", false)]
    [InlineData("GET /accounts/*", "GET", "/Accounts/7", false)]
    [InlineData("POST /exports", "POST", "/exports", true)]
    [InlineData("POST /exports", "POST", "/exports/", false)]
    [InlineData("POST /exports", "POST", "/exports/all", false)]
    [InlineData("POST /repos/*/*/pulls", "POST", "/repos/acme/app/pulls", true)]
    [InlineData("POST /repos/*/*/pulls", "POST", "/repos/acme/pulls", false)]
    [InlineData("GET /**", "GET", "/", true)]
    [InlineData("GET /**", "GET", "/anything/at/all", true)]
    [InlineData("* /health", "DELETE", "/health", true)]
    [InlineData("GET /a/**/z", "GET", "/a/z", true)]
    [InlineData("GET /a/**/z", "GET", "/a/b/c/z", true)]
    [InlineData("GET /a/**/z", "GET", "/a/b/c/y", false)]
    public void Rules_match_methods_and_segments_exactly(string rule, string method, string path, bool expected) =>
        Assert.Equal(expected, PathRule.Parse(rule).Matches(method, path));

    [Fact]
    public void A_path_without_a_leading_slash_never_matches() =>
        Assert.False(PathRule.Parse("GET /**").Matches("GET", "contacts"));
}
