namespace Tessera.Core.Tests.Mcp;

public sealed class McpRuleTests
{
    [Theory]
    [InlineData("MCP tools/call", "tools/call", null)]
    [InlineData("MCP tools/call search_*", "tools/call", "search_*")]
    [InlineData("MCP tools/list", "tools/list", null)]
    [InlineData("MCP resources/read repo://acme/widgets/**", "resources/read", "repo://acme/widgets/**")]
    [InlineData("MCP resources/subscribe repo://acme/*", "resources/subscribe", "repo://acme/*")]
    [InlineData("MCP resources/unsubscribe repo://acme/*", "resources/unsubscribe", "repo://acme/*")]
    [InlineData("MCP prompts/get summarize", "prompts/get", "summarize")]
    [InlineData("MCP completion/complete", "completion/complete", null)]
    [InlineData("MCP vendor/custom-method", "vendor/custom-method", null)]
    public void A_rule_names_a_method_and_perhaps_a_pattern(string text, string method, string? pattern)
    {
        var rule = Parse(text);

        Assert.Equal(text, rule.Text);
        Assert.Equal(text, rule.ToString());
        Assert.Equal(method, rule.Method);
        Assert.Equal(pattern, rule.Pattern?.Text);
    }

    [Theory]
    [InlineData("MCP initialize")]
    [InlineData("MCP ping")]
    [InlineData("MCP notifications/initialized")]
    [InlineData("MCP notifications/cancelled")]
    [InlineData("MCP notifications/anything")]
    public void A_rule_for_a_lifecycle_method_is_refused_because_a_valid_token_is_enough(string text) =>
        AssertRefused(text, "needs only a valid token");

    [Theory]
    [InlineData("MCP tools/list search_*")]
    [InlineData("MCP prompts/list *")]
    [InlineData("MCP resources/list **")]
    [InlineData("MCP resources/templates/list **")]
    [InlineData("MCP completion/complete x")]
    public void A_pattern_on_a_method_that_names_no_target_is_refused(string text) =>
        AssertRefused(text, "takes no pattern");

    [Theory]
    [InlineData("MCP")]
    [InlineData("MCP ")]
    [InlineData("MCP  tools/call")]
    [InlineData("MCP tools/call  search")]
    [InlineData("MCP tools/call search extra")]
    [InlineData(" MCP tools/call")]
    [InlineData("mcp tools/call")]
    [InlineData("MCP\ttools/call")]
    [InlineData("POST /mcp")]
    public void A_rule_not_written_with_single_spaces_is_refused(string text) =>
        AssertRefused(text, "separated by single spaces");

    [Theory]
    [InlineData("MCP tools/call ")]
    [InlineData("MCP tools/call a***")]
    [InlineData("MCP tools/call a\tb")]
    public void A_rule_with_a_pattern_that_is_not_one_is_refused(string text) =>
        AssertRefused(text, "pattern");

    [Theory]
    [InlineData("MCP tools/*")]
    [InlineData("MCP tools/call\u0000")]
    [InlineData("MCP tools/cäll")]
    [InlineData("MCP tools/call\u007f")]
    public void A_method_that_is_not_a_JSON_RPC_method_name_is_refused(string text) =>
        AssertRefused(text, "is not a JSON-RPC method name");

    [Fact]
    public void A_method_longer_than_the_longest_accepted_is_refused()
    {
        Assert.NotNull(McpRule.Parse("MCP " + new string('m', McpMethods.MaxMethodLength), out _));
        AssertRefused("MCP " + new string('m', McpMethods.MaxMethodLength + 1), "is not a JSON-RPC method name");
    }

    [Theory]
    [InlineData("MCP tools/call", true)]
    [InlineData("MCP ", true)]
    [InlineData("MCP", false)]
    [InlineData("GET /mcp", false)]
    [InlineData("MCPX tools/call", false)]
    public void A_rule_is_an_MCP_rule_when_its_first_word_is_MCP(string text, bool expected) =>
        Assert.Equal(expected, McpRule.IsMcpRule(text));

    [Theory]
    [InlineData("tools/call", "search_issues", true)]
    [InlineData("tools/call", "delete_repo", true)]
    [InlineData("tools/call", null, true)]
    [InlineData("Tools/call", "search_issues", false)]
    [InlineData("tools/call ", "search_issues", false)]
    [InlineData("tools/callx", "search_issues", false)]
    [InlineData("prompts/get", "search_issues", false)]
    public void A_rule_without_a_pattern_allows_its_method_exactly_whatever_the_target(string method, string? target, bool expected) =>
        Assert.Equal(expected, Parse("MCP tools/call").Matches(method, target));

    [Theory]
    [InlineData("tools/call", "search_issues", true)]
    [InlineData("tools/call", "search_", true)]
    [InlineData("tools/call", "delete_repo", false)]
    [InlineData("tools/call", "Search_issues", false)]
    [InlineData("tools/call", null, false)]
    [InlineData("prompts/get", "search_issues", false)]
    public void A_rule_with_a_pattern_allows_its_method_only_for_a_target_the_pattern_matches(string method, string? target, bool expected) =>
        Assert.Equal(expected, Parse("MCP tools/call search_*").Matches(method, target));

    [Fact]
    public void A_resource_rule_matches_the_uri_with_double_star_across_segments()
    {
        var rule = Parse("MCP resources/read repo://acme/widgets/**");

        Assert.True(rule.Matches("resources/read", "repo://acme/widgets/src/a.cs"));
        Assert.False(rule.Matches("resources/read", "repo://acme/gadgets/src/a.cs"));
        Assert.False(rule.Matches("resources/subscribe", "repo://acme/widgets/src/a.cs"));
    }

    private static McpRule Parse(string text) => McpRule.Parse(text, out var problem) ?? throw new InvalidOperationException(problem);

    private static void AssertRefused(string text, string problemPart)
    {
        Assert.Null(McpRule.Parse(text, out var problem));
        Assert.NotNull(problem);
        Assert.Contains(problemPart, problem, StringComparison.Ordinal);
    }
}
