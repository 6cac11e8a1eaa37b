namespace Tessera.Core.Tests.Mcp;

public sealed class McpCallDetailTests
{
    private static readonly Tool Issues = new(new ToolOptions
    {
        Id = "issues",
        Audience = "urn:tessera:tool:issues",
        Protocol = ToolProtocol.Mcp,
        Scopes = new Dictionary<string, ToolScopeOptions>
        {
            ["read"] = new(["MCP tools/call get_issue"], null),
            ["admin"] = new(["MCP tools/call delete_*"], null),
        },
    });

    private static readonly ScopeSet Admin = ScopeSet.Parse("issues:admin");

    /// <summary>The canonical form of {"repo":"widgets","number":7} is {"number":7,"repo":"widgets"}.</summary>
    private static readonly string ArgumentsSha = Hex("""{"number":7,"repo":"widgets"}""");

    private static string Hex(string canonical) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));

    private static McpCallDetail? Parse(string members, out string? arguments, out string? problem, ScopeSet? scopes = null) =>
        McpCallDetail.Parse($$"""[{"type":"tessera_mcp_call","tool":"issues"{{members}}}]""", Issues, scopes ?? Admin, out arguments, out problem);

    private static McpMessage Call(string name, string? arguments)
    {
        var body = arguments is null
            ? $$$"""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"{{{name}}}"}}"""
            : $$$"""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"{{{name}}}","arguments":{{{arguments}}}}}""";
        return McpMessage.Parse(Encoding.UTF8.GetBytes(body), keepArguments: true, out _)!;
    }

    [Fact]
    public void The_arguments_an_agent_shows_the_approver_are_kept_canonical_and_never_enter_the_claim()
    {
        var detail = Parse($$""","name":"delete_issue","arguments_sha256":"{{ArgumentsSha}}","arguments":{ "repo" : "widgets", "number" : 7 }""", out var arguments, out var problem);

        Assert.Null(problem);
        Assert.Equal("""{"number":7,"repo":"widgets"}""", arguments);
        Assert.Equal(new McpCallDetail("issues", "delete_issue", ArgumentsSha), detail);
        Assert.DoesNotContain("widgets", detail!.ToJson(), StringComparison.Ordinal);
        Assert.Equal(detail, McpCallDetail.FromClaim(detail.ToJson()));
    }

    [Fact]
    public void Arguments_that_do_not_hash_to_the_bound_value_are_refused_so_an_approver_never_reads_one_call_and_approves_another()
    {
        Assert.Null(Parse($$""","name":"delete_issue","arguments_sha256":"{{ArgumentsSha}}","arguments":{"repo":"widgets","number":8}""", out _, out var problem));
        Assert.Contains("not the SHA-256", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(""","name":"get_issue","arguments_sha256":"{0}" """, "no requested scope allows")]
    [InlineData(""","name":"delete_issue","arguments_sha256":"ABC" """, "64 lower-case hex")]
    [InlineData(""","name":"delete_issue","arguments_sha256":"{0}","extra":1""", "unknown member")]
    [InlineData(""","name":"delete_issue","arguments_sha256":"{0}","arguments":[1]""", "must be an object")]
    [InlineData(""","name":"delete_issue","arguments_sha256":"{0}","arguments":{"n":9007199254740993}""", "no single canonical form")]
    [InlineData(""","name":"delete_issue","name":"get_issue","arguments_sha256":"{0}" """, "not JSON")]
    [InlineData(""","name":7,"arguments_sha256":"{0}" """, "must be a string")]
    [InlineData(""","arguments_sha256":"{0}" """, "name must be")]
    public void Malformed_or_unallowed_details_are_refused_with_the_reason(string members, string expected)
    {
        Assert.Null(Parse(members.Replace("{0}", ArgumentsSha, StringComparison.Ordinal), out _, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Arguments_nested_deeper_than_an_approval_list_can_hold_are_refused_and_may_be_bound_by_their_hash_alone()
    {
        // The approval list holds the arguments 3 levels down; a reader allowing the common 64 levels
        // (System.Text.Json's default, the admin API's own writer) must be able to read all of it.
        var shallowEnough = Nested(61);
        var tooDeep = Nested(62);

        Assert.NotNull(Parse($$""","name":"delete_issue","arguments_sha256":"{{Hex(shallowEnough)}}","arguments":{{shallowEnough}}""", out var kept, out var accepted));
        Assert.Null(Parse($$""","name":"delete_issue","arguments_sha256":"{{Hex(tooDeep)}}","arguments":{{tooDeep}}""", out _, out var refused));
        var hashOnly = Parse($$""","name":"delete_issue","arguments_sha256":"{{Hex(tooDeep)}}" """, out var none, out _);

        Assert.Null(accepted);
        Assert.Equal(shallowEnough, kept);
        Assert.Equal("authorization_details arguments must nest at most 61 levels to be shown to the approver (bind deeper ones by arguments_sha256 alone)", refused);
        Assert.NotNull(hashOnly);
        Assert.Null(none);
        Assert.Null(hashOnly!.Mismatch(Call("delete_issue", tooDeep)));
    }

    /// <summary><c>{"a":{"a":...1...}}</c>, <paramref name="depth"/> objects deep (canonical as written).</summary>
    private static string Nested(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth - 1)) + "{\"a\":1}" + new string('}', depth - 1);

    [Fact]
    public void A_detail_for_another_type_or_tool_is_refused()
    {
        Assert.Null(McpCallDetail.Parse($$"""[{"type":"tessera_request","tool":"issues","name":"delete_issue","arguments_sha256":"{{ArgumentsSha}}"}]""", Issues, Admin, out _, out var type));
        Assert.Contains("type must be", type, StringComparison.Ordinal);
        Assert.Null(McpCallDetail.Parse($$"""[{"type":"tessera_mcp_call","tool":"crm","name":"delete_issue","arguments_sha256":"{{ArgumentsSha}}"}]""", Issues, Admin, out _, out var tool));
        Assert.Contains("tool must be 'issues'", tool, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_the_approved_call_with_the_approved_arguments_matches_whatever_their_order_and_spacing()
    {
        var detail = new McpCallDetail("issues", "delete_issue", ArgumentsSha);

        Assert.Null(detail.Mismatch(Call("delete_issue", """{ "repo": "widgets", "number": 7 }""")));
        Assert.Null(detail.Mismatch(Call("delete_issue", """{"number":7.0,"repo":"widgets"}""")));
        Assert.Equal("the call's arguments are not the approved ones", detail.Mismatch(Call("delete_issue", """{"repo":"widgets","number":8}""")));
        Assert.Equal("the call's arguments are not the approved ones", detail.Mismatch(Call("delete_issue", null)));
        Assert.StartsWith("the approval allows only tools/call delete_issue", detail.Mismatch(Call("delete_repo", """{"repo":"widgets","number":7}""")), StringComparison.Ordinal);
    }

    [Fact]
    public void A_call_whose_numbers_a_double_rounds_never_matches_so_a_tool_reading_decimals_exactly_cannot_act_on_another_value()
    {
        var detail = new McpCallDetail("issues", "delete_issue", Hex("""{"number":9007199254740992}"""));

        Assert.Null(detail.Mismatch(Call("delete_issue", """{"number":9007199254740992.0}""")));
        Assert.Equal("the call's arguments have no single canonical form", detail.Mismatch(Call("delete_issue", """{"number":9007199254740993.0}""")));
        Assert.Null(Parse($$""","name":"delete_issue","arguments_sha256":"{{ArgumentsSha}}","arguments":{"repo":"widgets","number":7.000000000000000001}""", out _, out var problem));
        Assert.Contains("no single canonical form", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_call_without_arguments_matches_the_hash_of_an_empty_object()
    {
        Assert.Equal(McpCallDetail.NoArgumentsSha256, Hex("{}"));
        var detail = new McpCallDetail("issues", "delete_issue", McpCallDetail.NoArgumentsSha256);

        Assert.Null(detail.Mismatch(Call("delete_issue", null)));
        Assert.Null(detail.Mismatch(Call("delete_issue", "{}")));
    }

    [Fact]
    public void A_claim_that_is_not_exactly_one_call_binds_nothing()
    {
        Assert.Null(McpCallDetail.FromClaim("[]"));
        Assert.Null(McpCallDetail.FromClaim("""[{"type":"tessera_request","tool":"issues","name":"x","arguments_sha256":"y"}]"""));
        Assert.Null(McpCallDetail.FromClaim("not json"));
    }
}
