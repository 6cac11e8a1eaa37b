namespace Tessera.Core.Tests.Approvals;

public sealed class ExactRequestDetailTests
{
    private const string BodySha = "0c3bd8d3a6a3c0c1f4b8c3d7e6a1f2b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3";
    private const string EmptySha = ExactRequestDetail.EmptyBodySha256;

    private static readonly Tool Billing = new(new ToolOptions
    {
        Id = "billing",
        Audience = "urn:tessera:tool:billing",
        Scopes = new Dictionary<string, ToolScopeOptions> { ["change"] = new(["PUT /billing/*", "DELETE /billing/*"], null) },
    });

    private static ExactRequestDetail? Parse(string extra, out string? problem) =>
        ExactRequestDetail.Parse($$"""[{"type":"tessera_request","tool":"billing","method":"PUT","path":"/billing/4711","body_sha256":"{{BodySha}}"{{extra}}}]""",
            Billing, ScopeSet.Parse("billing:change"), out problem);

    [Fact]
    public void Query_and_content_type_are_optional_and_survive_the_round_trip_through_the_token()
    {
        var bare = Parse("", out _)!;
        var full = Parse(""","query":"dry_run=false&x=%20","content_type":"application/merge-patch+json" """, out var problem);

        Assert.Null(problem);
        Assert.Null(bare.Query);
        Assert.Null(bare.ContentType);
        Assert.Equal(bare, ExactRequestDetail.FromClaim(bare.ToJson()));
        Assert.DoesNotContain("query", bare.ToJson(), StringComparison.Ordinal);
        Assert.Equal("dry_run=false&x=%20", full!.Query);
        Assert.Equal("application/merge-patch+json", full.ContentType);
        Assert.Equal(full, ExactRequestDetail.FromClaim(full.ToJson()));
    }

    [Theory]
    [InlineData(""","query":"" """)]
    [InlineData(""","query":"?a=1" """)]
    [InlineData(""","query":"a=%zz" """)]
    [InlineData(""","query":"a=%0a" """)]
    [InlineData(""","query":"a=b c" """)]
    [InlineData(""","query":"a=1#f" """)]
    [InlineData(""","query":1""")]
    [InlineData(""","query":null""")]
    [InlineData(""","query":"a","query":"b" """)]
    [InlineData(""","content_type":"" """)]
    [InlineData(""","content_type":"application/json; charset=utf-8" """)]
    [InlineData(""","content_type":"Application/JSON" """)]
    [InlineData(""","content_type":"application" """)]
    [InlineData(""","content_type":"/json" """)]
    [InlineData(""","content_type":"application/" """)]
    [InlineData(""","content_type":"application/json/x" """)]
    [InlineData(""","content_type":"text/ plain" """)]
    [InlineData(""","content_type":"*/*" """)]
    [InlineData(""","content_type":false""")]
    [InlineData(""","content_type":"a/b","content_type":"a/b" """)]
    public void A_malformed_query_or_content_type_is_refused(string extra)
    {
        Assert.Null(Parse(extra, out var problem));
        Assert.NotNull(problem);
    }

    [Fact]
    public void A_token_whose_optional_member_is_not_a_string_binds_nothing()
    {
        var json = $$"""[{"type":"tessera_request","tool":"billing","method":"PUT","path":"/billing/4711","body_sha256":"{{BodySha}}","query":1}]""";

        Assert.Null(ExactRequestDetail.FromClaim(json));
    }

    [Theory]
    [InlineData("PUT", "/billing/4711", "", "application/json", null)]
    [InlineData("PUT", "/billing/4711", "", "application/json; charset=utf-8", null)]
    [InlineData("PUT", "/billing/4711", "", "APPLICATION/Json", null)]
    [InlineData("PUT", "/billing/4711", "", " application/json ;x=1", null)]
    [InlineData("POST", "/billing/4711", "", "application/json", "the approval allows only PUT /billing/4711")]
    [InlineData("put", "/billing/4711", "", "application/json", "the approval allows only PUT /billing/4711")]
    [InlineData("PUT", "/billing/4712", "", "application/json", "the approval allows only PUT /billing/4711")]
    [InlineData("PUT", "/billing/4711", "?", "application/json", "the approval allows no query string")]
    [InlineData("PUT", "/billing/4711", "?a=1", "application/json", "the approval allows no query string")]
    [InlineData("PUT", "/billing/4711", "", "text/plain", "the approval allows only Content-Type application/json")]
    [InlineData("PUT", "/billing/4711", "", "application/jsonx", "the approval allows only Content-Type application/json")]
    [InlineData("PUT", "/billing/4711", "", "application/json,text/plain", "the approval allows only Content-Type application/json")]
    [InlineData("PUT", "/billing/4711", "", null, "the approval allows only Content-Type application/json")]
    public void Without_query_or_content_type_the_request_has_no_query_and_is_json(string method, string path, string query, string? contentType, string? mismatch)
    {
        var detail = new ExactRequestDetail("billing", "PUT", "/billing/4711", BodySha);

        Assert.Equal(mismatch, detail.Mismatch(method, path, query, contentType));
    }

    [Theory]
    [InlineData("?dry_run=false", "text/csv", null)]
    [InlineData("?dry_run=false", "Text/CSV; header=present", null)]
    [InlineData("", "text/csv", "the query string is not the approved one")]
    [InlineData("?", "text/csv", "the query string is not the approved one")]
    [InlineData("?dry_run=true", "text/csv", "the query string is not the approved one")]
    [InlineData("?dry_run=false&x=1", "text/csv", "the query string is not the approved one")]
    [InlineData("?dry_run=%66alse", "text/csv", "the query string is not the approved one")]
    [InlineData("?dry_run=false", "application/json", "the approval allows only Content-Type text/csv")]
    public void With_query_and_content_type_exactly_those_pass(string query, string contentType, string? mismatch)
    {
        var detail = new ExactRequestDetail("billing", "PUT", "/billing/4711", BodySha, "dry_run=false", "text/csv");

        Assert.Equal(mismatch, detail.Mismatch("PUT", "/billing/4711", query, contentType));
    }

    [Fact]
    public void A_request_without_content_type_matches_only_an_approved_empty_body()
    {
        var empty = new ExactRequestDetail("billing", "DELETE", "/billing/4711", EmptySha);

        Assert.Null(empty.Mismatch("DELETE", "/billing/4711", "", null));
        Assert.Equal("the approval allows only Content-Type application/json", empty.Mismatch("DELETE", "/billing/4711", "", "text/plain"));
    }
}
