namespace Tessera.Core.Tests.Mcp;

public sealed class McpAuthorizerTests
{
    private static readonly Tool GitHub = McpTool("github", new()
    {
        ["search"] = ["MCP tools/call search_*", "MCP tools/list"],
        ["issues"] = ["MCP tools/call create_issue", "MCP tools/call search_issues"],
        ["admin"] = ["MCP tools/call"],
        ["docs"] = ["MCP resources/read repo://acme/docs/**", "MCP prompts/get summarize"],
    });

    private static readonly Tool Other = McpTool("jira", new() { ["all"] = ["MCP tools/call"] });

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping"}""")]
    [InlineData("""{"jsonrpc":"2.0","method":"notifications/initialized"}""")]
    [InlineData("""{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}""")]
    public void A_lifecycle_message_is_allowed_without_any_rule(string json)
    {
        var decision = McpAuthorizer.Authorize(ScopeSet.Empty, GitHub, Message(json));

        Assert.True(decision.IsAllowed);
        Assert.Null(decision.Scope);
        Assert.Null(decision.Rule);
        Assert.Empty(decision.WouldAllow);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":"s1","result":{"roots":[]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":"s2","error":{"code":-32601,"message":"no"}}""")]
    public void A_response_from_the_client_is_allowed_without_any_rule(string json) =>
        Assert.Equal(McpDecision.Lifecycle, McpAuthorizer.Authorize(ScopeSet.Empty, GitHub, Message(json)));

    [Fact]
    public void A_call_allowed_by_a_scope_reports_that_scope_and_its_rule()
    {
        var decision = McpAuthorizer.Authorize(ScopeSet.Of(["github:search"]), GitHub, Call("search_code"));

        Assert.True(decision.IsAllowed);
        Assert.Equal("github:search", decision.Scope);
        Assert.Equal("MCP tools/call search_*", decision.Rule?.Text);
        Assert.Empty(decision.WouldAllow);
    }

    [Fact]
    public void A_call_allowed_by_several_scopes_reports_one_of_them_with_its_matching_rule()
    {
        var decision = McpAuthorizer.Authorize(ScopeSet.Of(["github:issues", "github:search"]), GitHub, Call("search_issues"));

        Assert.True(decision.IsAllowed);
        Assert.Contains(decision.Scope, new[] { "github:issues", "github:search" });
        Assert.True(decision.Rule!.Matches("tools/call", "search_issues"));
        Assert.Same(decision.Rule, GitHub.McpRules[decision.Scope!].Single(r => r.Text == decision.Rule.Text));
    }

    [Fact]
    public void A_call_not_allowed_reports_the_tools_scopes_that_would_allow_it_sorted()
    {
        var decision = McpAuthorizer.Authorize(ScopeSet.Of(["github:docs"]), GitHub, Call("search_issues"));

        Assert.False(decision.IsAllowed);
        Assert.Null(decision.Scope);
        Assert.Null(decision.Rule);
        Assert.Equal(["github:admin", "github:issues", "github:search"], decision.WouldAllow);
    }

    [Fact]
    public void A_call_no_scope_allows_reports_no_scope_but_the_wildcard_one()
    {
        var decision = McpAuthorizer.Authorize(ScopeSet.Of(["github:search"]), GitHub, Call("delete_repo"));

        Assert.False(decision.IsAllowed);
        Assert.Equal(["github:admin"], decision.WouldAllow);
    }

    [Fact]
    public void Scopes_of_another_tool_never_allow_and_are_never_reported()
    {
        // jira:all allows every tools/call of jira; the token's scope is for jira, the message for github.
        var decision = McpAuthorizer.Authorize(ScopeSet.Of(["jira:all", "crm:read"]), GitHub, Call("search_code"));

        Assert.False(decision.IsAllowed);
        Assert.DoesNotContain("jira:all", decision.WouldAllow);
        Assert.Equal(["github:admin", "github:search"], decision.WouldAllow);
    }

    [Fact]
    public void A_scope_of_the_same_name_on_another_tool_does_not_count()
    {
        var tool = McpTool("gitlab", new() { ["search"] = ["MCP tools/call search_*"] });

        Assert.False(McpAuthorizer.Authorize(ScopeSet.Of(["github:search"]), tool, Call("search_code")).IsAllowed);
        Assert.True(McpAuthorizer.Authorize(ScopeSet.Of(["gitlab:search"]), tool, Call("search_code")).IsAllowed);
        Assert.True(McpAuthorizer.Authorize(ScopeSet.Of(["jira:all"]), Other, Call("anything")).IsAllowed);
    }

    [Fact]
    public void A_method_without_a_target_needs_a_rule_for_that_method()
    {
        var list = Message("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""");

        Assert.True(McpAuthorizer.Authorize(ScopeSet.Of(["github:search"]), GitHub, list).IsAllowed);
        var refused = McpAuthorizer.Authorize(ScopeSet.Of(["github:admin"]), GitHub, list);
        Assert.False(refused.IsAllowed);
        Assert.Equal(["github:search"], refused.WouldAllow);
    }

    [Fact]
    public void A_method_no_scope_names_is_refused_with_no_scope_that_would_allow_it()
    {
        var decision = McpAuthorizer.Authorize(GitHub.Scopes, GitHub, Message("""{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{}}"""));

        Assert.False(decision.IsAllowed);
        Assert.Empty(decision.WouldAllow);
    }

    [Theory]
    [InlineData("resources/read", "uri", "repo://acme/docs/guide/intro.md", true)]
    [InlineData("resources/read", "uri", "repo://acme/secrets/key.pem", false)]
    [InlineData("resources/subscribe", "uri", "repo://acme/docs/guide/intro.md", false)]
    [InlineData("prompts/get", "name", "summarize", true)]
    [InlineData("prompts/get", "name", "summarize_all", false)]
    public void Resources_and_prompts_are_matched_on_their_uri_and_name(string method, string member, string target, bool allowed) =>
        Assert.Equal(allowed, McpAuthorizer.Authorize(ScopeSet.Of(["github:docs"]), GitHub,
            Message($$$"""{"jsonrpc":"2.0","id":1,"method":"{{{method}}}","params":{"{{{member}}}":"{{{target}}}"}}""")).IsAllowed);

    [Fact]
    public void A_notification_that_is_not_lifecycle_still_needs_a_rule()
    {
        // Only notifications/* are lifecycle; a method-less id-less message of another method is an action.
        var decision = McpAuthorizer.Authorize(ScopeSet.Empty, GitHub, Message("""{"jsonrpc":"2.0","method":"tools/call","params":{"name":"search_code"}}"""));

        Assert.False(decision.IsAllowed);
    }

    internal static Tool McpTool(string id, Dictionary<string, string[]> scopes) => new(new ToolOptions
    {
        Id = id,
        Audience = $"urn:tessera:tool:{id}",
        Protocol = ToolProtocol.Mcp,
        Scopes = scopes.ToDictionary(s => s.Key, s => new ToolScopeOptions(s.Value, null)),
    });

    internal static McpMessage Message(string json) =>
        McpMessage.Parse(Encoding.UTF8.GetBytes(json), false, out var problem) ?? throw new InvalidOperationException(problem?.Description);

    private static McpMessage Call(string name) => Message($$$"""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"{{{name}}}"}}""");
}
