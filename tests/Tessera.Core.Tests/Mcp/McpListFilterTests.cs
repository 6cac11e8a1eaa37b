using System.Buffers;

namespace Tessera.Core.Tests.Mcp;

public sealed class McpListFilterTests
{
    private static readonly Tool GitHub = McpAuthorizerTests.McpTool("github", new()
    {
        ["search"] = ["MCP tools/call search_*", "MCP tools/list", "MCP prompts/list", "MCP resources/list"],
        ["issues"] = ["MCP tools/call create_issue"],
        ["docs"] = ["MCP resources/read repo://acme/docs/**", "MCP prompts/get summarize"],
        ["read-all"] = ["MCP resources/read"],
        ["read-any"] = ["MCP resources/read **"],
        ["read-one"] = ["MCP resources/read *"],
        ["everything"] = ["MCP tools/call", "MCP prompts/get"],
    });

    private const string ToolsAnswer = """
        {"jsonrpc":"2.0","id":7,"result":{"tools":[
          {"name":"search_code","description":"Search code","inputSchema":{"type":"object"}},
          {"name":"delete_repo","description":"Delete","inputSchema":{"type":"object"}},
          {"name":"create_issue","inputSchema":{"type":"object"}},
          {"name":"search_issues","inputSchema":{"type":"object","properties":{"q":{"type":"string"}}}}
        ],"nextCursor":"page-2","_meta":{"x":1}}}
        """;

    [Fact]
    public void A_tools_list_shows_only_the_tools_the_token_may_call_in_their_order_and_keeps_the_rest()
    {
        var (outcome, json) = Filter(["github:search"], McpListKind.Tools, ToolsAnswer);

        Assert.Equal(McpFilterOutcome.Rewritten, outcome);
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal("2.0", root.GetProperty("jsonrpc").GetString());
        Assert.Equal(7, root.GetProperty("id").GetInt32());
        Assert.Equal(["search_code", "search_issues"], Names(root, "tools", "name"));
        Assert.Equal("page-2", root.GetProperty("result").GetProperty("nextCursor").GetString());
        Assert.Equal(1, root.GetProperty("result").GetProperty("_meta").GetProperty("x").GetInt32());
        Assert.Equal("string", root.GetProperty("result").GetProperty("tools")[1].GetProperty("inputSchema").GetProperty("properties").GetProperty("q").GetProperty("type").GetString());
    }

    [Fact]
    public void The_rules_of_every_scope_of_the_token_count_together() =>
        Assert.Equal(["search_code", "create_issue", "search_issues"], Listed(["github:search", "github:issues"], McpListKind.Tools, ToolsAnswer, "tools", "name"));

    [Fact]
    public void A_rule_without_a_pattern_shows_every_tool() =>
        Assert.Equal(["search_code", "delete_repo", "create_issue", "search_issues"], Listed(["github:everything"], McpListKind.Tools, ToolsAnswer, "tools", "name"));

    [Fact]
    public void A_token_that_may_call_no_tool_sees_an_empty_list() =>
        Assert.Empty(Listed(["github:docs"], McpListKind.Tools, ToolsAnswer, "tools", "name"));

    [Fact]
    public void Rules_of_scopes_of_another_tool_show_nothing() =>
        Assert.Empty(Listed(["jira:everything", "gitlab:search"], McpListKind.Tools, ToolsAnswer, "tools", "name"));

    [Fact]
    public void Prompts_are_shown_by_prompts_get_rules_not_tools_call_rules()
    {
        const string answer = """{"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"summarize"},{"name":"search_x"},{"name":"leak"}]}}""";

        Assert.Equal(["summarize"], Listed(["github:docs", "github:search"], McpListKind.Prompts, answer, "prompts", "name"));
    }

    [Fact]
    public void Resources_are_shown_by_resources_read_rules_on_their_uri()
    {
        const string answer = """
            {"jsonrpc":"2.0","id":1,"result":{"resources":[
              {"uri":"repo://acme/docs/a.md","name":"a"},
              {"uri":"repo://acme/secrets/key.pem","name":"repo://acme/docs/key.pem"},
              {"uri":"repo://acme/docs/deep/b.md","name":"b"}]}}
            """;

        Assert.Equal(["repo://acme/docs/a.md", "repo://acme/docs/deep/b.md"], Listed(["github:docs"], McpListKind.Resources, answer, "resources", "uri"));
        Assert.Equal(3, Listed(["github:read-all"], McpListKind.Resources, answer, "resources", "uri").Length);
    }

    [Theory]
    [InlineData("github:read-all", 2)]
    [InlineData("github:read-any", 2)]
    [InlineData("github:read-one", 0)]
    [InlineData("github:docs", 0)]
    [InlineData("github:everything", 0)]
    public void Resource_templates_are_shown_only_to_a_token_that_may_read_every_resource(string scope, int shown)
    {
        const string answer = """{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[{"uriTemplate":"repo://acme/{path}","name":"file"},{"uriTemplate":"db://{table}","name":"table"}]}}""";

        Assert.Equal(shown, Listed([scope], McpListKind.ResourceTemplates, answer, "resourceTemplates", "name").Length);
    }

    [Fact]
    public void Entries_without_the_matched_member_as_a_string_are_dropped()
    {
        const string answer = """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"title":"no name"},{"name":7},{"name":null},"search_x",["search_y"],null,{"name":"search_ok"}]}}""";

        var (outcome, json) = Filter(["github:everything"], McpListKind.Tools, answer);

        Assert.Equal(McpFilterOutcome.Rewritten, outcome);
        using var document = JsonDocument.Parse(json);
        Assert.Equal(["search_ok"], Names(document.RootElement, "tools", "name"));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"boom","data":{"tools":[{"name":"delete_repo"}]}}}""")]
    [InlineData("""{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":{"name":"delete_repo"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":"tools"}""")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    public void A_message_without_the_list_passes_unchanged_and_nothing_is_written(string answer)
    {
        var (outcome, json) = Filter(["github:search"], McpListKind.Tools, answer);

        Assert.Equal(McpFilterOutcome.Unchanged, outcome);
        Assert.Empty(json);
    }

    [Fact]
    public void A_list_of_another_kind_than_the_request_asked_for_passes_unchanged() =>
        Assert.Equal(McpFilterOutcome.Unchanged, Filter(["github:search"], McpListKind.Prompts, ToolsAnswer).Outcome);

    [Fact]
    public void Kind_none_passes_anything_unchanged_without_reading_it()
    {
        Assert.Equal(McpFilterOutcome.Unchanged, Filter(["github:search"], McpListKind.None, ToolsAnswer).Outcome);
        Assert.Equal(McpFilterOutcome.Unchanged, Filter(["github:search"], McpListKind.None, "{ not json").Outcome);
    }

    [Theory]
    [InlineData(McpListKind.Tools, """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a"},{"name":"delete"}]}}""", "tools", "name", new[] { "search_a" })]
    [InlineData(McpListKind.Prompts, """{"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"summarize"},{"name":"leak"}]}}""", "prompts", "name", new[] { "summarize" })]
    [InlineData(McpListKind.Resources, """{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"repo://acme/docs/x"},{"uri":"repo://other"}]}}""", "resources", "uri", new[] { "repo://acme/docs/x" })]
    [InlineData(McpListKind.ResourceTemplates, """{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[{"name":"t","uriTemplate":"repo://{x}"}]}}""", "resourceTemplates", "name", new string[0])]
    public void Kind_any_filters_whichever_list_is_present(McpListKind expectedKind, string answer, string list, string member, string[] shown)
    {
        Assert.NotEqual(McpListKind.Any, expectedKind);
        Assert.Equal(shown, Listed(["github:search", "github:docs"], McpListKind.Any, answer, list, member));
        Assert.Equal(shown, Listed(["github:search", "github:docs"], expectedKind, answer, list, member));
    }

    [Fact]
    public void Kind_any_filters_every_list_an_answer_carries()
    {
        // An answer on a resumed stream carries no request to tell its kind: a second list beside the
        // first must not pass unfiltered.
        const string answer = """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a"},{"name":"delete"}],"resources":[{"uri":"repo://acme/docs/x"},{"uri":"repo://acme/secrets/k"}],"prompts":[{"name":"leak"}]}}""";

        var (outcome, json) = Filter(["github:search", "github:docs"], McpListKind.Any, answer);

        Assert.Equal(McpFilterOutcome.Rewritten, outcome);
        using var document = JsonDocument.Parse(json);
        Assert.Equal(["search_a"], Names(document.RootElement, "tools", "name"));
        Assert.Equal(["repo://acme/docs/x"], Names(document.RootElement, "resources", "uri"));
        Assert.Empty(Names(document.RootElement, "prompts", "name"));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a","name":"delete_repo"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a"}],"tools":[{"name":"delete_repo"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a"}]},"result":{"tools":[{"name":"delete_repo"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a","n\u0061me":"delete_repo"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a","inputSchema":{"a":1,"a":2}}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a"}]}""")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"delete_repo"}]}}]""")]
    public void An_answer_Tessera_cannot_read_unambiguously_is_refused_whole(string answer)
    {
        var (outcome, json) = Filter(["github:search"], McpListKind.Tools, answer);

        Assert.Equal(McpFilterOutcome.Refused, outcome);
        Assert.Empty(json);
    }

    [Theory]
    [InlineData(new byte[] { 0xff })]
    [InlineData(new byte[] { 0xc3, 0x28 })]
    [InlineData(new byte[] { 0xed, 0xa0, 0x80 })]
    public void An_answer_that_is_not_UTF_8_is_refused_not_thrown(byte[] invalid)
    {
        byte[] answer = [.. "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"search_"u8, .. invalid, .. "\"},{\"name\":\"x\",\"d\":\""u8, .. invalid, .. "\"}]}}"u8];

        var output = new ArrayBufferWriter<byte>();
        Assert.Equal(McpFilterOutcome.Refused, Filter(["github:search"], McpListKind.Tools, answer, output));
        Assert.Equal(0, output.WrittenCount);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_\ud800"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_a","description":"\udc00"}]}}""")]
    public void An_answer_with_half_a_surrogate_pair_is_refused_not_thrown(string answer)
    {
        var (outcome, json) = Filter(["github:search"], McpListKind.Tools, answer);

        Assert.Equal(McpFilterOutcome.Refused, outcome);
        Assert.Empty(json);
    }

    [Fact]
    public void An_answer_refused_late_in_a_long_list_leaves_nothing_written()
    {
        // Enough kept entries before the bad one that a writer would already have handed bytes to the output.
        var entries = string.Join(",", Enumerable.Range(0, 5_000).Select(i => $$$"""{"name":"search_{{{i}}}","description":"{{{new string('d', 40)}}}"}"""));
        var answer = $$$"""{"jsonrpc":"2.0","id":1,"result":{"tools":[{{{entries}}},{"name":"search_z","description":"\udc00"}]}}""";

        var (outcome, json) = Filter(["github:search"], McpListKind.Tools, answer);

        Assert.Equal(McpFilterOutcome.Refused, outcome);
        Assert.Empty(json);
    }

    [Fact]
    public void Non_ASCII_names_and_text_survive_the_rewrite()
    {
        const string answer = """{"jsonrpc":"2.0","id":"é","result":{"tools":[{"name":"search_café","description":"Größe 😀 日本語 <b>&amp;</b>"},{"name":"delete_ß"}],"nextCursor":"ü"}}""";

        var (outcome, json) = Filter(["github:search"], McpListKind.Tools, answer);

        Assert.Equal(McpFilterOutcome.Rewritten, outcome);
        // Text of the basic plane is written as it came; a character beyond it may come out escaped, which reads the same.
        Assert.Contains("search_café", json, StringComparison.Ordinal);
        Assert.Contains("Größe ", json, StringComparison.Ordinal);
        Assert.Contains(" 日本語 <b>&amp;</b>", json, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(json);
        Assert.Equal(["search_café"], Names(document.RootElement, "tools", "name"));
        Assert.Equal("Größe 😀 日本語 <b>&amp;</b>", document.RootElement.GetProperty("result").GetProperty("tools")[0].GetProperty("description").GetString());
        Assert.Equal("é", document.RootElement.GetProperty("id").GetString());
        Assert.Equal("ü", document.RootElement.GetProperty("result").GetProperty("nextCursor").GetString());
    }

    [Fact]
    public void An_escaped_name_is_matched_as_its_text()
    {
        const string answer = """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search\u005fa"},{"name":"sea\u0072ch_b"},{"name":"delete\u005fc"}]}}""";

        Assert.Equal(["search_a", "search_b"], Listed(["github:search"], McpListKind.Tools, answer, "tools", "name"));
    }

    [Fact]
    public void An_answer_larger_than_the_largest_filtered_is_refused()
    {
        var answer = new byte[McpListFilter.MaxMessageBytes + 1];
        answer.AsSpan().Fill((byte)' ');
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[]}}"u8.CopyTo(answer);

        Assert.Equal(McpFilterOutcome.Refused, Filter(["github:search"], McpListKind.Tools, answer, new ArrayBufferWriter<byte>()));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[],"x":{"\ud800":1}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"search_code","a\udc00":1}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"a\ud800b":2,"result":{"tools":[]}}""")]
    public void A_member_name_escaping_half_a_surrogate_pair_is_refused_not_thrown(string answer)
    {
        // A hostile upstream's list answer: refused (Tessera passes on nothing it cannot read), never an exception (a 5xx).
        var output = new ArrayBufferWriter<byte>();

        Assert.Equal(McpFilterOutcome.Refused, Filter(["github:search"], McpListKind.Tools, Encoding.UTF8.GetBytes(answer), output));
        Assert.Equal(0, output.WrittenCount);
    }

    [Theory]
    [InlineData("tools/list", McpListKind.Tools)]
    [InlineData("prompts/list", McpListKind.Prompts)]
    [InlineData("resources/list", McpListKind.Resources)]
    [InlineData("resources/templates/list", McpListKind.ResourceTemplates)]
    [InlineData("tools/call", McpListKind.None)]
    [InlineData("Tools/list", McpListKind.None)]
    [InlineData(null, McpListKind.None)]
    public void The_kind_of_list_follows_from_the_request_method(string? method, McpListKind kind) =>
        Assert.Equal(kind, McpListFilter.KindOf(method));

    private static string[] Listed(string[] scopes, McpListKind kind, string answer, string list, string member)
    {
        var (outcome, json) = Filter(scopes, kind, answer);
        Assert.Equal(McpFilterOutcome.Rewritten, outcome);
        using var document = JsonDocument.Parse(json);
        return Names(document.RootElement, list, member);
    }

    private static string[] Names(JsonElement root, string list, string member) =>
        [.. root.GetProperty("result").GetProperty(list).EnumerateArray().Select(e => e.GetProperty(member).GetString()!)];

    private static (McpFilterOutcome Outcome, string Json) Filter(string[] scopes, McpListKind kind, string answer)
    {
        var output = new ArrayBufferWriter<byte>();
        var outcome = Filter(scopes, kind, Encoding.UTF8.GetBytes(answer), output);
        return (outcome, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    private static McpFilterOutcome Filter(string[] scopes, McpListKind kind, byte[] answer, ArrayBufferWriter<byte> output) =>
        new McpListFilter(GitHub, ScopeSet.Of(scopes)).Filter(answer, kind, output);
}
