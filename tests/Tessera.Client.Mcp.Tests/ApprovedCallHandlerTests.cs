using Microsoft.Extensions.AI;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Tessera.Client.AI;
using Tessera.Client.Tests.Infrastructure;
using Tessera.Server.Tests.Mcp;

namespace Tessera.Client.Mcp.Tests;

/// <summary>
/// The approved token goes only with the call it was approved for: the same name and arguments of the
/// same canonical hash, once. Any other call in the same flow keeps the connection's token, which the
/// gateway refuses for a gated tool, so nothing reaches the MCP server.
/// </summary>
[Trait("Speed", "Slow")] // each test starts a broker and an MCP server on real sockets
public sealed class ApprovedCallHandlerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15); // real time, only to fail a hung test

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static int ToolCalls(McpApprovalBroker mcp) =>
        mcp.Upstream.Received.Count(r => r.Method == "POST" && Encoding.UTF8.GetString(r.Body).Contains("\"tools/call\"", StringComparison.Ordinal));

    [Fact]
    public async Task Only_the_approved_call_carries_the_approved_token_and_only_once()
    {
        await using var mcp = await McpApprovalBroker.StartAsync();
        await using var host = AgentHost.Create(mcp.Broker, o => { o.AgentId = "support-agent"; o.UseClientSecret(TestBroker.SupportSecret); o.UseDPoP(); });
        await using var client = await host.Agent.ConnectMcpAsync("issues", ["issues:read"], new TesseraMcpOptions { PrimaryHandler = () => AgentHost.PrimaryHandler(mcp.Broker) }, Ct);
        var gated = new TesseraGatedMcpTool(new McpClientTool(client, new Tool { Name = "delete_issue" }), "issues", "issues:admin");

        // Asked, approved by bob, redeemed after one poll.
        var requested = new TaskCompletionSource<ApprovalRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        var approver = new McpCallApprover((TesseraAgent)host.Agent, new TesseraApprovalOptions { ApprovalRequested = (r, _) => requested.TrySetResult(r) });
        var asking = approver.ApproveAsync(gated, new FunctionCallContent("c1", "delete_issue", new Dictionary<string, object?> { ["number"] = 7, ["repo"] = "widgets" }), Ct);
        await mcp.Broker.ApproveAsync(mcp.Idp, (await requested.Task.WaitAsync(Patience, Ct)).AuthReqId);
        var (approved, reason) = await ((TestClock)mcp.Broker.Time).StepUntilAsync(asking, due => due == ApprovalBroker.Interval, Patience);
        Assert.True(approved is not null, reason);
        Assert.True(approved.Token.IsDPoP);

        using (ApprovedMcpCalls.Enter([approved]))
        {
            // Other arguments: sent with the connection's token (issues:read), refused, never forwarded.
            var changed = await Assert.ThrowsAsync<HttpRequestException>(() =>
                client.CallToolAsync("delete_issue", new Dictionary<string, object?> { ["number"] = 8, ["repo"] = "widgets" }, cancellationToken: Ct).AsTask());
            Assert.Equal(HttpStatusCode.Forbidden, changed.StatusCode);
            Assert.Equal(0, ToolCalls(mcp));

            // The approved call, its members in another order: through, once.
            var result = await client.CallToolAsync("delete_issue", new Dictionary<string, object?> { ["repo"] = "widgets", ["number"] = 7 }, cancellationToken: Ct);
            Assert.NotEqual(true, result.IsError);
            Assert.Equal(1, ToolCalls(mcp));

            // The same call again: the approved token was taken; the connection's token is refused.
            var again = await Assert.ThrowsAsync<HttpRequestException>(() =>
                client.CallToolAsync("delete_issue", new Dictionary<string, object?> { ["repo"] = "widgets", ["number"] = 7 }, cancellationToken: Ct).AsTask());
            Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
            Assert.Equal(1, ToolCalls(mcp));
        }

        var refusals = (await mcp.Broker.AuditEventsAsync()).Where(e => e.Record.Type == Tessera.Core.Audit.AuditTypes.ProxyDenied).Select(e => e.Record.ReasonCode);
        Assert.Equal(["mcp.not_allowed", "mcp.not_allowed"], refusals);
    }

    [Fact]
    public async Task Outside_a_flow_with_approved_calls_a_gated_call_carries_the_connections_token_and_is_refused()
    {
        await using var mcp = await McpApprovalBroker.StartAsync();
        await using var host = AgentHost.Create(mcp.Broker, o => { o.AgentId = "support-agent"; o.UseClientSecret(TestBroker.SupportSecret); });
        await using var client = await host.Agent.ConnectMcpAsync("issues", ["issues:read"], new TesseraMcpOptions { PrimaryHandler = () => AgentHost.PrimaryHandler(mcp.Broker) }, Ct);

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() =>
            client.CallToolAsync("delete_issue", new Dictionary<string, object?> { ["number"] = 7, ["repo"] = "widgets" }, cancellationToken: Ct).AsTask());

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(0, ToolCalls(mcp));
    }
}
