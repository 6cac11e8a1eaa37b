using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Tessera.Server.Tests.Mcp;

/// <summary>The MCP fixture proved on its own: the SDK client talks straight to the SDK server, no Tessera in between.</summary>
public sealed class McpTestServerTests
{
    private const string UpstreamToken = "upstream-secret";

    public static TheoryData<McpResponseMode, string?> Modes => new()
    {
        { McpResponseMode.Sse, McpTestClient.SessionProtocol },
        { McpResponseMode.Json, McpTestClient.SessionProtocol },
        { McpResponseMode.Sse, McpTestClient.StatelessProtocol },
        { McpResponseMode.Json, McpTestClient.StatelessProtocol },
    };

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task The_sdk_client_lists_the_named_tools(McpResponseMode mode, string? protocol)
    {
        await using var server = await McpTestServer.StartAsync(new() { ResponseMode = mode });
        await using var client = await McpTestClient.ConnectAsync(server.Endpoint, UpstreamToken, Cancel, protocol);

        var tools = await client.ListToolsAsync(cancellationToken: Cancel);

        Assert.Equal(McpTestServer.NamedTools.Order(), tools.Select(t => t.Name).Order());
        Assert.Equal(protocol, client.NegotiatedProtocolVersion);
    }

    [Fact]
    public async Task The_named_tools_carry_typed_input_schemas_and_destructive_hints()
    {
        await using var server = await McpTestServer.StartAsync();
        await using var client = await McpTestClient.ConnectAsync(server.Endpoint, UpstreamToken, Cancel);

        var tools = (await client.ListToolsAsync(cancellationToken: Cancel)).ToDictionary(t => t.Name);

        var schema = tools["get_issue"].ProtocolTool.InputSchema;
        Assert.Equal("integer", schema.GetProperty("properties").GetProperty("number").GetProperty("type").GetString());
        Assert.Equal("number", Assert.Single(schema.GetProperty("required").EnumerateArray()).GetString());
        Assert.True(tools["delete_repo"].ProtocolTool.Annotations?.DestructiveHint);
        Assert.False(tools["search_issues"].ProtocolTool.Annotations?.DestructiveHint);
    }

    [Theory]
    [InlineData(McpResponseMode.Sse)]
    [InlineData(McpResponseMode.Json)]
    public async Task A_long_tool_list_arrives_whole(McpResponseMode mode)
    {
        await using var server = await McpTestServer.StartAsync(new() { ResponseMode = mode, GeneratedTools = 200 });
        await using var client = await McpTestClient.ConnectAsync(server.Endpoint, UpstreamToken, Cancel);

        var tools = await client.ListToolsAsync(cancellationToken: Cancel);

        Assert.Equal(205, tools.Count);
        Assert.Contains(tools, t => t.Name == "tool_000");
        Assert.Contains(tools, t => t.Name == "tool_199");
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task A_tool_call_answers_with_the_arguments_it_received(McpResponseMode mode, string? protocol)
    {
        await using var server = await McpTestServer.StartAsync(new() { ResponseMode = mode });
        await using var client = await McpTestClient.ConnectAsync(server.Endpoint, UpstreamToken, Cancel, protocol);

        var result = await client.CallToolAsync("create_issue", new Dictionary<string, object?> { ["title"] = "Broken widget", ["labels"] = new[] { "bug" } }, cancellationToken: Cancel);

        Assert.NotEqual(true, result.IsError);
        using var echo = JsonDocument.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        Assert.Equal("create_issue", echo.RootElement.GetProperty("tool").GetString());
        Assert.Equal("Broken widget", echo.RootElement.GetProperty("arguments").GetProperty("title").GetString());
        Assert.Equal("bug", echo.RootElement.GetProperty("arguments").GetProperty("labels")[0].GetString());
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Resources_and_a_resource_template_are_listed_and_read(McpResponseMode mode, string? protocol)
    {
        await using var server = await McpTestServer.StartAsync(new() { ResponseMode = mode });
        await using var client = await McpTestClient.ConnectAsync(server.Endpoint, UpstreamToken, Cancel, protocol);

        var resources = await client.ListResourcesAsync(cancellationToken: Cancel);
        var templates = await client.ListResourceTemplatesAsync(cancellationToken: Cancel);
        var readme = await client.ReadResourceAsync(McpTestServer.ReadmeUri, cancellationToken: Cancel);
        var issue = await client.ReadResourceAsync("repo://acme/widgets/issues/7", cancellationToken: Cancel);

        Assert.Equal([McpTestServer.SecretKeysUri, McpTestServer.ReadmeUri], resources.Select(r => r.Uri).Order());
        Assert.Equal(McpTestServer.IssueTemplate, Assert.Single(templates).UriTemplate);
        Assert.StartsWith("# Widgets", Assert.IsType<TextResourceContents>(Assert.Single(readme.Contents)).Text, StringComparison.Ordinal);
        Assert.Equal("issue acme/widgets#7", Assert.IsType<TextResourceContents>(Assert.Single(issue.Contents)).Text);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task A_prompt_is_listed_and_got_with_its_arguments(McpResponseMode mode, string? protocol)
    {
        await using var server = await McpTestServer.StartAsync(new() { ResponseMode = mode });
        await using var client = await McpTestClient.ConnectAsync(server.Endpoint, UpstreamToken, Cancel, protocol);

        var prompts = await client.ListPromptsAsync(cancellationToken: Cancel);
        var triage = await client.GetPromptAsync("triage", new Dictionary<string, object?> { ["issue"] = "42", ["severity"] = "high" }, cancellationToken: Cancel);

        Assert.Equal(["summarize", "triage"], prompts.Select(p => p.Name).Order());
        var message = Assert.Single(triage.Messages);
        Assert.Equal("Triage issue 42 at severity high.", Assert.IsType<TextContentBlock>(message.Content).Text);
    }

    [Fact]
    public async Task The_recorder_holds_every_request_of_a_session_with_its_credential_and_body()
    {
        await using var server = await McpTestServer.StartAsync();
        var client = await McpTestClient.ConnectAsync(server.Endpoint, UpstreamToken, Cancel, McpTestClient.SessionProtocol);
        await client.CallToolAsync("get_issue", new Dictionary<string, object?> { ["number"] = 7 }, cancellationToken: Cancel);
        await client.DisposeAsync();

        Assert.Equal(["initialize", "notifications/initialized", "tools/call"], server.ReceivedMethods());
        Assert.All(server.Received, r => Assert.Equal(McpTestServer.Credential, r.Headers["Authorization"]));
        Assert.All(server.Received, r => Assert.Equal("/mcp", r.RawTarget));
        var call = server.Received.Single(r => r.Method == "POST" && Encoding.UTF8.GetString(r.Body).Contains("tools/call", StringComparison.Ordinal));
        using var body = JsonDocument.Parse(call.Body);
        Assert.Equal(7, body.RootElement.GetProperty("params").GetProperty("arguments").GetProperty("number").GetInt32());
        Assert.Equal(McpTestClient.SessionProtocol, call.Headers["MCP-Protocol-Version"]);
        Assert.Equal("tools/call", call.Headers["Mcp-Method"]);
        Assert.Equal("get_issue", call.Headers["Mcp-Name"]);
        Assert.False(string.IsNullOrEmpty(call.Headers["Mcp-Session-Id"]));
        var delete = Assert.Single(server.Received, r => r.Method == "DELETE");
        Assert.Equal(call.Headers["Mcp-Session-Id"], delete.Headers["Mcp-Session-Id"]);
    }

    [Fact]
    public async Task A_stateless_client_names_the_method_and_tool_in_headers()
    {
        await using var server = await McpTestServer.StartAsync();
        await using var client = await McpTestClient.ConnectAsync(server.Endpoint, UpstreamToken, Cancel, McpTestClient.StatelessProtocol);
        await client.CallToolAsync("delete_repo", new Dictionary<string, object?> { ["repo"] = "widgets" }, cancellationToken: Cancel);

        var call = Assert.Single(server.Received, r => Encoding.UTF8.GetString(r.Body).Contains("\"tools/call\"", StringComparison.Ordinal));
        Assert.Equal("tools/call", call.Headers["Mcp-Method"]);
        Assert.Equal("delete_repo", call.Headers["Mcp-Name"]);
        Assert.False(call.Headers.ContainsKey("Mcp-Session-Id"));
        Assert.Equal(McpTestClient.StatelessProtocol, call.Headers["MCP-Protocol-Version"]);
    }

    [Theory]
    [InlineData(McpResponseMode.Sse, "text/event-stream")]
    [InlineData(McpResponseMode.Json, "application/json")]
    public async Task The_response_mode_decides_the_framing_of_the_answer_to_a_post(McpResponseMode mode, string contentType)
    {
        await using var server = await McpTestServer.StartAsync(new() { ResponseMode = mode });
        var seen = new List<string?>();
        await using var client = await McpTestClient.ConnectAsync(server.Endpoint, UpstreamToken, Cancel, McpTestClient.SessionProtocol, response =>
        {
            if (response.RequestMessage!.Method == HttpMethod.Post && response.StatusCode == HttpStatusCode.OK)
            {
                lock (seen)
                {
                    seen.Add(response.Content.Headers.ContentType?.MediaType);
                }
            }
        });

        await client.ListToolsAsync(cancellationToken: Cancel);

        lock (seen)
        {
            Assert.Equal([contentType, contentType], seen);
        }
    }

    [Theory]
    [InlineData(McpTestClient.SessionProtocol)]
    [InlineData(McpTestClient.StatelessProtocol)]
    public async Task A_request_without_the_credential_is_answered_401_and_goes_no_further(string protocol)
    {
        await using var server = await McpTestServer.StartAsync();

        var failure = await Assert.ThrowsAsync<HttpRequestException>(() => McpTestClient.ConnectAsync(server.Endpoint, "agent-token", Cancel, protocol));

        Assert.Equal(HttpStatusCode.Unauthorized, failure.StatusCode);
        var received = Assert.Single(server.Received);
        Assert.Equal("Bearer agent-token", received.Headers["Authorization"]);
    }

    [Fact]
    public async Task The_401_carries_the_configured_challenge_and_a_client_without_oauth_options_stops_there()
    {
        const string challenge = "Bearer resource_metadata=\"http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp\"";
        await using var server = await McpTestServer.StartAsync(new() { Challenge = challenge });
        string? seen = null;

        await Assert.ThrowsAsync<HttpRequestException>(() => McpTestClient.ConnectAsync(
            server.Endpoint, "agent-token", Cancel, McpTestClient.SessionProtocol, response => seen = response.Headers.WwwAuthenticate.ToString()));

        Assert.Equal(challenge, seen);
        Assert.Single(server.Received);
    }
}
