namespace Tessera.Core.Tests.Proxy;

public sealed class ProxyPathTests
{
    [Theory]
    [InlineData("", "/", "/")]
    [InlineData("/", "/", "/")]
    [InlineData("/contacts/42", "/contacts/42", "/contacts/42")]
    [InlineData("/contacts/42/", "/contacts/42/", "/contacts/42/")]
    [InlineData("/contacts/./42", "/contacts/42", "/contacts/42")]
    [InlineData("/./contacts/42", "/contacts/42", "/contacts/42")]
    [InlineData("/contacts/././42", "/contacts/42", "/contacts/42")]
    [InlineData("/contacts/.", "/contacts/", "/contacts/")]
    [InlineData("/contacts/./", "/contacts/", "/contacts/")]
    [InlineData("/.", "/", "/")]
    [InlineData("/contacts/jane%20doe", "/contacts/jane doe", "/contacts/jane%20doe")]
    [InlineData("/accounts/%41cme", "/accounts/Acme", "/accounts/Acme")]
    [InlineData("/a/%7e%5F%2D", "/a/~_-", "/a/~_-")]
    [InlineData("/a/Jos%C3%A9", "/a/José", "/a/Jos%C3%A9")]
    [InlineData("/a/Jos%c3%a9", "/a/José", "/a/Jos%C3%A9")]
    [InlineData("/a/%F0%9F%94%91", "/a/🔑", "/a/%F0%9F%94%91")]
    [InlineData("/a/%3F%23", "/a/?#", "/a/%3F%23")]
    [InlineData("/a/%22%3C%3E%60%7B%7D", "/a/\"<>`{}", "/a/%22%3C%3E%60%7B%7D")]
    [InlineData("/a/b;c=d,e", "/a/b;c=d,e", "/a/b;c=d,e")]
    [InlineData("/a/user@host:8080", "/a/user@host:8080", "/a/user@host:8080")]
    [InlineData("/a/!$&'()*+", "/a/!$&'()*+", "/a/!$&'()*+")]
    [InlineData("/a/...", "/a/...", "/a/...")]
    [InlineData("/a/.hidden", "/a/.hidden", "/a/.hidden")]
    [InlineData("/a/b..c", "/a/b..c", "/a/b..c")]
    [InlineData("/a/..b;c", "/a/..b;c", "/a/..b;c")]
    [InlineData("/a/b;..", "/a/b;..", "/a/b;..")]
    [InlineData("/a/x%3By%3dz", "/a/x;y=z", "/a/x%3By%3Dz")]
    [InlineData("/a/%40home%2C%21", "/a/@home,!", "/a/%40home%2C%21")]
    public void A_path_is_decoded_for_matching_and_re_encoded_for_forwarding(string raw, string path, string encoded)
    {
        var normalized = ProxyPath.Normalize(raw, out var refusal);

        Assert.Null(refusal);
        Assert.NotNull(normalized);
        Assert.Equal(path, normalized.Path);
        Assert.Equal(encoded, normalized.Encoded);
    }

    [Theory]
    [InlineData("/contacts/jane%20doe")]
    [InlineData("/a/Jos%c3%a9/./b/")]
    [InlineData("/accounts/%41cme")]
    public void Normalizing_the_forwarded_form_again_changes_nothing(string raw)
    {
        var once = ProxyPath.Normalize(raw, out _)!;

        var twice = ProxyPath.Normalize(once.Encoded, out var refusal);

        Assert.Null(refusal);
        Assert.Equal(once.Path, twice!.Path);
        Assert.Equal(once.Encoded, twice.Encoded);
    }

    [Theory]
    [InlineData("contacts/42", "the path must start with '/'")]
    [InlineData("%2Fcontacts", "the path must start with '/'")]
    [InlineData("//", "empty path segment ('//')")]
    [InlineData("//contacts", "empty path segment ('//')")]
    [InlineData("/contacts//42", "empty path segment ('//')")]
    [InlineData("/contacts/42//", "empty path segment ('//')")]
    [InlineData("/..", "'..' path segment")]
    [InlineData("/contacts/..", "'..' path segment")]
    [InlineData("/contacts/../exports", "'..' path segment")]
    [InlineData("/contacts/1/../2", "'..' path segment")]
    [InlineData("/contacts/./../exports", "'..' path segment")]
    [InlineData("/contacts/..;/exports", "dot segment with ';' parameters")]
    [InlineData("/contacts/..;jsessionid=x/exports", "dot segment with ';' parameters")]
    [InlineData("/contacts/..%3B/exports", "dot segment with ';' parameters")]
    [InlineData("/contacts/.;/exports", "dot segment with ';' parameters")]
    [InlineData("/contacts/%2e%2e/exports", "encoded '.' in the path")]
    [InlineData("/contacts/%2E%2E/exports", "encoded '.' in the path")]
    [InlineData("/contacts/.%2e/exports", "encoded '.' in the path")]
    [InlineData("/contacts/%2e./exports", "encoded '.' in the path")]
    [InlineData("/contacts/%2e", "encoded '.' in the path")]
    [InlineData("/contacts/report%2Ejson", "encoded '.' in the path")]
    [InlineData("/contacts/a%2Fb", "encoded '/' or '\\' in the path")]
    [InlineData("/contacts/a%2fb", "encoded '/' or '\\' in the path")]
    [InlineData("/contacts/a%5Cb", "encoded '/' or '\\' in the path")]
    [InlineData("/contacts/a%5cb", "encoded '/' or '\\' in the path")]
    [InlineData("/contacts/a\\b", "backslash in the path")]
    [InlineData("/contacts\\..\\exports", "backslash in the path")]
    [InlineData("/contacts/%252F", "double percent-encoding ('%25')")]
    [InlineData("/contacts/%252e%252e", "double percent-encoding ('%25')")]
    [InlineData("/contacts/100%25", "double percent-encoding ('%25')")]
    [InlineData("/contacts/1%00", "encoded control character in the path")]
    [InlineData("/contacts/1%0d%0aX-Injected:%20yes", "encoded control character in the path")]
    [InlineData("/contacts/1%0A", "encoded control character in the path")]
    [InlineData("/contacts/1%09", "encoded control character in the path")]
    [InlineData("/contacts/1%1F", "encoded control character in the path")]
    [InlineData("/contacts/1%7F", "encoded control character in the path")]
    [InlineData("/contacts/a b", "raw control, space or non-ASCII character in the path")]
    [InlineData("/contacts/a\tb", "raw control, space or non-ASCII character in the path")]
    [InlineData("/contacts/a\u0000b", "raw control, space or non-ASCII character in the path")]
    [InlineData("/contacts/a\u007Fb", "raw control, space or non-ASCII character in the path")]
    [InlineData("/contacts/José", "raw control, space or non-ASCII character in the path")]
    [InlineData("/contacts/1%", "incomplete percent-encoding")]
    [InlineData("/contacts/1%2", "incomplete percent-encoding")]
    [InlineData("/contacts/1%2/x", "incomplete percent-encoding")]
    [InlineData("/contacts/%zz", "invalid percent-encoding")]
    [InlineData("/contacts/%g0", "invalid percent-encoding")]
    [InlineData("/contacts/%0g", "invalid percent-encoding")]
    [InlineData("/contacts/%-1", "invalid percent-encoding")]
    [InlineData("/contacts/%c0%af", "percent-encoded bytes are not UTF-8")]
    [InlineData("/contacts/%c0%ae%c0%ae", "percent-encoded bytes are not UTF-8")]
    [InlineData("/contacts/%e0%80%af", "percent-encoded bytes are not UTF-8")]
    [InlineData("/contacts/%ff", "percent-encoded bytes are not UTF-8")]
    [InlineData("/contacts/%e2%82", "percent-encoded bytes are not UTF-8")]
    [InlineData("/contacts/%ed%a0%80", "percent-encoded bytes are not UTF-8")]
    [InlineData("/contacts/%f4%90%80%80", "percent-encoded bytes are not UTF-8")]
    public void An_ambiguous_path_is_refused_with_its_reason(string raw, string reason)
    {
        var normalized = ProxyPath.Normalize(raw, out var refusal);

        Assert.Null(normalized);
        Assert.Equal(reason, refusal);
    }
}
