using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Tessera.Client.Tests.Infrastructure;
using Tessera.Server.Tests.Mcp;

namespace Tessera.Client.Mcp.Tests;

/// <summary>
/// The official MCP client connected by <c>ConnectMcpAsync</c> to the MCP tool <c>issues</c> through a
/// real broker, in front of a real MCP server: Tessera tokens on every request, the least privilege of
/// the scopes asked for in what is listed and what may be called.
/// </summary>
[Trait("Speed", "Slow")] // each test starts a broker and an MCP server on real sockets
public sealed class TesseraMcpClientExtensionsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static AgentHost Agent(TestBroker broker, bool dpop = false) =>
        AgentHost.Create(broker, o =>
        {
            o.AgentId = "support-agent";
            o.UseClientSecret(TestBroker.SupportSecret);
            if (dpop)
            {
                o.UseDPoP();
            }
        });

    private static Task<McpClient> ConnectAsync(AgentHost host, TestBroker broker, params string[] scopes) =>
        host.Agent.ConnectMcpAsync(McpBroker.ToolId, scopes, new TesseraMcpOptions { PrimaryHandler = () => AgentHost.PrimaryHandler(broker) }, Ct);

    [Fact]
    public async Task The_listed_tools_are_only_those_the_tokens_scopes_allow()
    {
        await using var mcp = await McpBroker.StartAsync();
        await using var host = Agent(mcp.Broker);

        await using (var reader = await ConnectAsync(host, mcp.Broker, "read"))
        {
            var tools = await reader.ListToolsAsync(cancellationToken: Ct);
            Assert.Equal(["get_issue", "search_issues"], tools.Select(t => t.Name).Order());
        }

        await using var writer = await ConnectAsync(host, mcp.Broker, "issues:read", "issues:write");
        var more = await writer.ListToolsAsync(cancellationToken: Ct);
        Assert.Equal(["create_issue", "get_issue", "search_issues"], more.Select(t => t.Name).Order());
    }

    [Fact]
    public async Task An_allowed_tool_is_called_with_a_DPoP_bound_token_and_reaches_the_server_with_the_vaults_credential()
    {
        await using var mcp = await McpBroker.StartAsync();
        await using var host = Agent(mcp.Broker, dpop: true);
        await using var client = await ConnectAsync(host, mcp.Broker, "issues:read");

        var tool = Assert.Single(await client.ListToolsAsync(cancellationToken: Ct), t => t.Name == "get_issue");
        var result = await tool.CallAsync(new Dictionary<string, object?> { ["number"] = 7 }, cancellationToken: Ct);

        Assert.NotEqual(true, result.IsError);
        using (var echo = JsonDocument.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text))
        {
            Assert.Equal("get_issue", echo.RootElement.GetProperty("tool").GetString());
            Assert.Equal(7, echo.RootElement.GetProperty("arguments").GetProperty("number").GetInt32());
        }

        var token = await host.Agent.GetTokenAsync(McpBroker.ToolId, ["issues:read"], Ct);
        Assert.True(token.IsDPoP);
        var call = Assert.Single(mcp.Upstream.Received, r => r.Method == "POST" && Encoding.UTF8.GetString(r.Body).Contains("\"tools/call\"", StringComparison.Ordinal));
        Assert.Equal(McpTestServer.Credential, call.Headers["Authorization"]);
        Assert.False(call.Headers.ContainsKey("DPoP"));
        Assert.Equal(1, host.TokenRequests);
    }

    [Fact]
    public async Task A_tool_the_scopes_do_not_allow_is_refused_and_never_reaches_the_server()
    {
        await using var mcp = await McpBroker.StartAsync();
        await using var host = Agent(mcp.Broker, dpop: true);
        await using var client = await ConnectAsync(host, mcp.Broker, "issues:read");

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() =>
            client.CallToolAsync("delete_issue", new Dictionary<string, object?> { ["number"] = 7 }, cancellationToken: Ct).AsTask());

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.DoesNotContain("tools/call", mcp.Upstream.ReceivedMethods());
    }

    [Fact]
    public async Task Connecting_with_an_approval_gated_scope_surfaces_the_approval_and_opens_no_session()
    {
        await using var mcp = await McpApprovalBroker.StartAsync();
        await using var host = Agent(mcp.Broker);

        var approval = await Assert.ThrowsAsync<TesseraApprovalRequiredException>(() => ConnectAsync(host, mcp.Broker, "issues:read", "issues:admin"));

        Assert.Equal(["issues:admin", "issues:read"], approval.Approval.Scopes);
        Assert.Empty(mcp.Upstream.Received);
    }
}
