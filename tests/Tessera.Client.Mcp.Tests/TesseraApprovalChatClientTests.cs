using Microsoft.Extensions.AI;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Tessera.Client.AI;
using Tessera.Client.Tests.Infrastructure;
using Tessera.Server.Tests.Mcp;

namespace Tessera.Client.Mcp.Tests;

/// <summary>
/// <c>UseTesseraApprovals</c> over a scripted model and the real function-invoking client, against a real
/// broker and MCP server: the model calls the gated <c>delete_issue</c>; Tessera opens an approval bound to
/// exactly that call; bob decides through the admin API; approved, the call reaches the MCP server once,
/// with those arguments; denied, it never does.
/// </summary>
[Trait("Speed", "Slow")] // each test starts a broker and an MCP server on real sockets
public sealed class TesseraApprovalChatClientTests
{
    /// <summary>The arguments the model sends, canonical (members sorted, no spaces).</summary>
    private const string Canonical = """{"number":7,"repo":"widgets"}""";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15); // real time, only to fail a hung test

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static AgentHost Agent(TestBroker broker, bool dpop) =>
        AgentHost.Create(broker, o =>
        {
            o.AgentId = "support-agent";
            o.UseClientSecret(TestBroker.SupportSecret);
            if (dpop)
            {
                o.UseDPoP();
            }
        });

    /// <summary>The model: first a call of delete_issue (in another member order than canonical), then a text naming the result it got.</summary>
    private static ScriptedChatClient Model() => new(
        _ => new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("call-1", "delete_issue", new Dictionary<string, object?> { ["repo"] = "widgets", ["number"] = 7 })]),
        conversation => new ChatMessage(ChatRole.Assistant, "done: " + conversation.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single().Result));

    private sealed record Setup(McpApprovalBroker Mcp, AgentHost Host, McpClient Client, IChatClient Chat, ScriptedChatClient Model, ChatOptions Options, TaskCompletionSource<ApprovalRequest> Requested) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Host.DisposeAsync();
            await Mcp.DisposeAsync();
        }
    }

    /// <param name="byGate">Mark delete_issue as a plain ApprovalRequiredAIFunction and name its Tessera scope with the Gate option, rather than RequireTesseraApproval.</param>
    private static async Task<Setup> StartAsync(bool dpop, bool byGate = false)
    {
        var mcp = await McpApprovalBroker.StartAsync();
        var host = Agent(mcp.Broker, dpop);
        var client = await host.Agent.ConnectMcpAsync("issues", ["issues:read"], new TesseraMcpOptions { PrimaryHandler = () => AgentHost.PrimaryHandler(mcp.Broker) }, Ct);
        var listed = await client.ListToolsAsync(cancellationToken: Ct);
        using var schema = JsonDocument.Parse("""{"type":"object","properties":{"repo":{"type":"string"},"number":{"type":"integer"}},"required":["repo","number"]}""");
        var deleteIssue = new McpClientTool(client, new Tool { Name = "delete_issue", Description = "Delete an issue.", InputSchema = schema.RootElement.Clone() });
        var requested = new TaskCompletionSource<ApprovalRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        var model = Model();
        var chat = new ChatClientBuilder(model)
            .UseTesseraApprovals(host.Agent, o =>
            {
                o.Reason = call => $"the user asked to delete issue {call.Arguments!["number"]}";
                o.ApprovalRequested = (request, _) => requested.TrySetResult(request);
                if (byGate)
                {
                    o.Gate = tool => tool.Name.StartsWith("delete_", StringComparison.Ordinal) ? new TesseraGatedMcpTool(tool, "issues", "admin") : null;
                }
            })
            .UseFunctionInvocation()
            .Build();
        AIFunction gated = byGate ? new ApprovalRequiredAIFunction(deleteIssue) : deleteIssue.RequireTesseraApproval("issues", "issues:admin");
        var options = new ChatOptions { Tools = [.. listed, gated] };
        return new Setup(mcp, host, client, chat, model, options, requested);
    }

    /// <summary>
    /// Moves the broker's clock once, to the agent's wait before its first poll (the decision is already
    /// made), and awaits <paramref name="answer"/>. Only once: the gateway's own waits (an audit event made
    /// durable within 5 s) are on the same clock and must not be hurried.
    /// </summary>
    private static Task<T> AfterOnePollAsync<T>(McpApprovalBroker mcp, Task<T> answer)
    {
        var moved = 0;
        return ((TestClock)mcp.Broker.Time).StepUntilAsync(answer, due => due == ApprovalBroker.Interval && Interlocked.Exchange(ref moved, 1) == 0, Patience);
    }

    private static List<ChatMessage> Ask() => [new(ChatRole.User, "Delete issue 7 of widgets, it is a duplicate.")];

    private static IEnumerable<ReceivedRequest> ToolCalls(McpApprovalBroker mcp) =>
        mcp.Upstream.Received.Where(r => r.Method == "POST" && Encoding.UTF8.GetString(r.Body).Contains("\"tools/call\"", StringComparison.Ordinal));

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task An_approved_call_is_bound_to_its_exact_arguments_and_reaches_the_server_once(bool dpop, bool byGate)
    {
        await using var setup = await StartAsync(dpop, byGate);
        var mcp = setup.Mcp;

        var answer = setup.Chat.GetResponseAsync(Ask(), setup.Options, Ct);
        var request = await setup.Requested.Task.WaitAsync(Patience, Ct);

        // bob sees the call: the tool, the name, the hash of the canonical arguments and the arguments themselves.
        var approval = Assert.Single((await mcp.Broker.ListApprovalsAsync(mcp.Idp.As(mcp.Broker, "bob"))).EnumerateArray());
        Assert.Equal(request.AuthReqId, approval.GetProperty("id").GetString());
        Assert.Equal(["issues:admin"], approval.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        var detail = Assert.Single(approval.GetProperty("authorization_details").EnumerateArray());
        Assert.Equal("tessera_mcp_call", detail.GetProperty("type").GetString());
        Assert.Equal("issues", detail.GetProperty("tool").GetString());
        Assert.Equal("delete_issue", detail.GetProperty("name").GetString());
        Assert.Equal(McpApprovalBroker.Sha256(Canonical), detail.GetProperty("arguments_sha256").GetString());
        Assert.Equal(Canonical, approval.GetProperty("arguments").GetRawText());
        Assert.Equal("the user asked to delete issue 7", approval.GetProperty("reason").GetString());
        Assert.Empty(ToolCalls(mcp));

        await mcp.Broker.ApproveAsync(mcp.Idp, request.AuthReqId);
        var response = await AfterOnePollAsync(mcp, answer);

        var call = Assert.Single(ToolCalls(mcp));
        using (var body = JsonDocument.Parse(call.Body))
        {
            var parameters = body.RootElement.GetProperty("params");
            Assert.Equal("delete_issue", parameters.GetProperty("name").GetString());
            Assert.Equal(McpApprovalBroker.Sha256(Canonical), McpArguments.Sha256(parameters.GetProperty("arguments")));
        }

        Assert.Equal(McpTestServer.Credential, call.Headers["Authorization"]);
        Assert.StartsWith("done: ", response.Text, StringComparison.Ordinal);
        Assert.Contains("delete_issue", response.Text, StringComparison.Ordinal);

        // The response carries the call and its result, for the caller's history, and no approval left open.
        var contents = response.Messages.SelectMany(m => m.Contents).ToList();
        Assert.Equal("delete_issue", Assert.Single(contents.OfType<FunctionCallContent>()).Name);
        Assert.Single(contents.OfType<FunctionResultContent>());
        Assert.Empty(contents.OfType<ToolApprovalRequestContent>());
        var events = await mcp.Broker.AuditEventsAsync();
        var forwarded = Assert.Single(events, e => e.Record.Type == Tessera.Core.Audit.AuditTypes.ProxyForwarded && e.Record.McpMethod == "tools/call");
        Assert.Equal("MCP tools/call delete_*", forwarded.Record.Rule);
    }

    [Fact]
    public async Task A_denied_call_is_rejected_with_the_reason_and_never_reaches_the_server()
    {
        await using var setup = await StartAsync(dpop: false);
        var mcp = setup.Mcp;

        var answer = setup.Chat.GetResponseAsync(Ask(), setup.Options, Ct);
        var request = await setup.Requested.Task.WaitAsync(Patience, Ct);
        using (var denied = await mcp.Broker.DecideAsync(request.AuthReqId, "deny", mcp.Idp.As(mcp.Broker, "bob"), "not a duplicate"))
        {
            Assert.Equal(HttpStatusCode.OK, denied.StatusCode);
        }

        var response = await AfterOnePollAsync(mcp, answer);

        Assert.Empty(ToolCalls(mcp));
        var result = setup.Model.Seen[^1].SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single();
        Assert.Contains("denied", result.Result?.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("done: ", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approval_nobody_decides_expires_and_the_call_is_rejected_without_reaching_the_server()
    {
        await using var setup = await StartAsync(dpop: false);
        var mcp = setup.Mcp;

        var answer = setup.Chat.GetResponseAsync(Ask(), setup.Options, Ct);
        await setup.Requested.Task.WaitAsync(Patience, Ct);

        // Poll after poll at the server's interval, until the pending approval lapses (10 minutes).
        var response = await ((TestClock)mcp.Broker.Time).StepUntilAsync(answer, due => due == ApprovalBroker.Interval, Patience);

        Assert.Empty(ToolCalls(mcp));
        var result = setup.Model.Seen[^1].SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single();
        Assert.Contains("expired", result.Result?.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("done: ", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_while_waiting_for_the_approver_ends_the_chat_call_and_calls_nothing()
    {
        await using var setup = await StartAsync(dpop: false);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var answer = setup.Chat.GetResponseAsync(Ask(), setup.Options, cancel.Token);
        await setup.Requested.Task.WaitAsync(Patience, Ct);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => answer);
        Assert.Empty(ToolCalls(setup.Mcp));
    }

    [Fact]
    public async Task Streaming_holds_the_approval_request_back_and_streams_the_approved_calls_outcome()
    {
        await using var setup = await StartAsync(dpop: true);
        var mcp = setup.Mcp;

        var streamed = CollectAsync(setup.Chat.GetStreamingResponseAsync(Ask(), setup.Options, Ct));
        var request = await setup.Requested.Task.WaitAsync(Patience, Ct);
        await mcp.Broker.ApproveAsync(mcp.Idp, request.AuthReqId);
        var updates = await AfterOnePollAsync(mcp, streamed);

        Assert.Single(ToolCalls(mcp));
        Assert.DoesNotContain(updates, u => u.Contents.OfType<ToolApprovalRequestContent>().Any());
        Assert.StartsWith("done: ", updates.ToChatResponse().Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approval_request_for_a_function_tessera_does_not_gate_is_left_to_the_application()
    {
        await using var setup = await StartAsync(dpop: false);
        var plain = new ApprovalRequiredAIFunction(AIFunctionFactory.Create(() => "archived", "delete_issue"));
        var options = new ChatOptions { Tools = [plain] };

        var response = await setup.Chat.GetResponseAsync(Ask(), options, Ct);

        var request = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<ToolApprovalRequestContent>());
        Assert.Equal("delete_issue", ((FunctionCallContent)request.ToolCall).Name);
        Assert.False(setup.Requested.Task.IsCompleted);
        Assert.Empty((await setup.Mcp.Broker.ListApprovalsAsync(setup.Mcp.Broker.AdminToken)).EnumerateArray());
    }

    private static async Task<List<ChatResponseUpdate>> CollectAsync(IAsyncEnumerable<ChatResponseUpdate> updates)
    {
        var all = new List<ChatResponseUpdate>();
        await foreach (var update in updates)
        {
            all.Add(update);
        }

        return all;
    }
}
