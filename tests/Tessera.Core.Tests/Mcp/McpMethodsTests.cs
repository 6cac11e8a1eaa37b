namespace Tessera.Core.Tests.Mcp;

public sealed class McpMethodsTests
{
    [Theory]
    [InlineData("initialize", true)]
    [InlineData("ping", true)]
    [InlineData("notifications/initialized", true)]
    [InlineData("notifications/whatever/else", true)]
    [InlineData("notifications", false)]
    [InlineData("Notifications/initialized", false)]
    [InlineData("initialize ", false)]
    [InlineData("tools/call", false)]
    [InlineData("logging/setLevel", false)]
    public void Only_initialize_ping_and_notifications_belong_to_the_lifecycle(string method, bool expected) =>
        Assert.Equal(expected, McpMethods.IsLifecycle(method));

    [Theory]
    [InlineData("tools/call", McpTarget.Name)]
    [InlineData("prompts/get", McpTarget.Name)]
    [InlineData("resources/read", McpTarget.Uri)]
    [InlineData("resources/subscribe", McpTarget.Uri)]
    [InlineData("resources/unsubscribe", McpTarget.Uri)]
    [InlineData("tools/list", McpTarget.None)]
    [InlineData("resources/templates/list", McpTarget.None)]
    [InlineData("completion/complete", McpTarget.None)]
    [InlineData("Tools/call", McpTarget.None)]
    public void Only_methods_naming_a_tool_prompt_or_resource_have_a_target(string method, McpTarget expected) =>
        Assert.Equal(expected, McpMethods.TargetOf(method));

    [Theory]
    [InlineData("tools/call", "tools/call")]
    [InlineData("notifications/initialized", "notifications/initialized")]
    [InlineData("resources/templates/list", "resources/templates/list")]
    [InlineData("vendor/secret-4711", "other")]
    [InlineData("Tools/call", "other")]
    [InlineData("notifications/made-up", "other")]
    [InlineData("", "other")]
    [InlineData(null, "other")]
    public void A_metric_names_a_method_MCP_defines_and_any_other_as_other(string? method, string expected) =>
        Assert.Equal(expected, McpMethods.MetricLabel("POST", method));

    [Theory]
    [InlineData("GET", "GET")]
    [InlineData("DELETE", "DELETE")]
    public void A_metric_names_the_stream_and_the_end_of_a_session_by_their_HTTP_method(string httpMethod, string expected) =>
        Assert.Equal(expected, McpMethods.MetricLabel(httpMethod, null));
}
