namespace Tessera.Client.Tests;

public sealed class TesseraExactRequestTests
{
    [Fact]
    public void An_http_request_is_a_tessera_request_detail_with_the_bodys_hash_and_a_bare_media_type()
    {
        var body = """{"plan":"annual"}"""u8.ToArray();

        var request = TesseraExactRequest.Http(HttpMethod.Put, "/billing/4711", body, query: "?notify=false", contentType: "Application/Merge-Patch+JSON; charset=utf-8");

        Assert.Equal(
            $$"""[{"type":"tessera_request","tool":"billing","method":"PUT","path":"/billing/4711","body_sha256":"{{Convert.ToHexStringLower(SHA256.HashData(body))}}","query":"notify=false","content_type":"application/merge-patch+json"}]""",
            request.ToAuthorizationDetails("billing"));
    }

    [Fact]
    public void An_http_request_without_query_or_media_type_leaves_both_out_so_tessera_expects_none_and_json()
    {
        var request = TesseraExactRequest.Http(HttpMethod.Post, "/exports", "");

        Assert.Equal(
            $$"""[{"type":"tessera_request","tool":"crm","method":"POST","path":"/exports","body_sha256":"{{ExactRequest.BodySha256([])}}"}]""",
            request.ToAuthorizationDetails("crm"));
    }

    [Fact]
    public void A_path_that_is_not_the_tools_own_is_refused()
    {
        Assert.Throws<ArgumentException>(() => TesseraExactRequest.Http(HttpMethod.Post, "exports", ""));
    }

    [Fact]
    public void An_mcp_call_binds_the_canonical_hash_of_its_arguments_and_shows_them_unless_told_not_to()
    {
        using var arguments = JsonDocument.Parse("""{ "repo": "widgets", "number": 7 }""");
        var hash = Convert.ToHexStringLower(SHA256.HashData("""{"number":7,"repo":"widgets"}"""u8));

        var shown = TesseraExactRequest.McpCall("delete_issue", arguments.RootElement);
        var hidden = TesseraExactRequest.McpCall("delete_issue", arguments.RootElement, showArguments: false);

        Assert.Equal(hash, shown.ArgumentsSha256);
        Assert.Equal(
            $$$"""[{"type":"tessera_mcp_call","tool":"issues","name":"delete_issue","arguments_sha256":"{{{hash}}}","arguments":{"repo":"widgets","number":7}}]""",
            shown.ToAuthorizationDetails("issues"));
        Assert.Equal(
            $$"""[{"type":"tessera_mcp_call","tool":"issues","name":"delete_issue","arguments_sha256":"{{hash}}"}]""",
            hidden.ToAuthorizationDetails("issues"));
    }

    [Fact]
    public void An_mcp_call_whose_arguments_are_not_an_object_is_refused()
    {
        using var arguments = JsonDocument.Parse("[1, 2]");

        Assert.Throws<ArgumentException>(() => TesseraExactRequest.McpCall("delete_issue", arguments.RootElement));
    }
}
