using Microsoft.Extensions.AI;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Tessera.Client.AI;
using Tessera.Client.Tests.Infrastructure;
using Tessera.Server.Tests.Mcp;

namespace Tessera.Client.Mcp.Tests;

/// <summary>
/// Inside a mission for alice: the MCP connection's tokens are exchanged from the mission token, and a
/// gated call's approval is asked for by exchanging it too, so both the session and the approved call
/// are on record as alice's, in her mission.
/// </summary>
[Trait("Speed", "Slow")] // starts a broker and an MCP server on real sockets
public sealed class MissionTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15); // real time, only to fail a hung test

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Inside_a_mission_the_connection_and_the_approved_call_act_for_the_principal()
    {
        await using var upstream = await McpTestServer.StartAsync();
        var idp = new TestIdp();
        var yaml = $$"""
            server:
              listen: {{TestBroker.Issuer}}
            storage: sqlite:data/tessera.db
            data_dir: data
            tokens:
              default_ttl: 5m
              max_ttl: 1h
            {{TestIdp.Yaml}}
            approver_groups:
              - { id: security-oncall, members: [ { idp: corp, sub: bob } ] }
            principals:
              - { idp: corp, sub: alice, scopes: [ "issues:read", "issues:admin" ] }
            tools:
              - id: issues
                protocol: mcp
                upstream: {{upstream.Endpoint}}
                credential: { secret: issues-key, header: Authorization, format: "Bearer {secret}" }
                scopes:
                  read: { rules: [ "MCP tools/list", "MCP tools/call get_issue" ] }
                  admin: { rules: [ "MCP tools/call delete_*" ], approval: { group: security-oncall, ttl: 2m, max_uses: 1 } }
            agents:
            {{TestBroker.SupportAgentYaml("\"issues:read\", \"issues:admin\"")}}
            """;
        await using var broker = await TestBroker.StartAsync(yaml, idp.NewBrokerDirectory(), realHttp: true);
        await McpApprovalBroker.PutAsync(broker, "issues-key", McpApprovalBroker.IssuesKey);
        await using var host = AgentHost.Create(broker, o => { o.AgentId = "support-agent"; o.UseClientSecret(TestBroker.SupportSecret); });
        var alice = idp.Mint("alice", broker.Time.GetUtcNow(), extraClaims: new Dictionary<string, object> { ["may_act"] = new Dictionary<string, object> { ["sub"] = "support-agent" } });

        await using var mission = await host.Agent.BeginMissionAsync("clean up duplicate issues", alice, cancellationToken: Ct);
        await using var client = await host.Agent.ConnectMcpAsync("issues", ["issues:read"], new TesseraMcpOptions { PrimaryHandler = () => AgentHost.PrimaryHandler(broker) }, Ct);
        var listed = await client.ListToolsAsync(cancellationToken: Ct);
        Assert.Equal(["get_issue"], listed.Select(t => t.Name));

        var requested = new TaskCompletionSource<ApprovalRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        var model = new ScriptedChatClient(
            _ => new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("call-1", "delete_issue", new Dictionary<string, object?> { ["number"] = 7 })]),
            conversation => new ChatMessage(ChatRole.Assistant, "done: " + conversation.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single().Result));
        using var chat = new ChatClientBuilder(model)
            .UseTesseraApprovals(host.Agent, o => o.ApprovalRequested = (request, _) => requested.TrySetResult(request))
            .UseFunctionInvocation()
            .Build();
        var deleteIssue = new McpClientTool(client, new Tool { Name = "delete_issue" }).RequireTesseraApproval("issues", "admin");

        var answer = chat.GetResponseAsync([new ChatMessage(ChatRole.User, "Delete issue 7.")], new ChatOptions { Tools = [.. listed, deleteIssue] }, Ct);
        await broker.ApproveAsync(idp, (await requested.Task.WaitAsync(Patience, Ct)).AuthReqId);
        var moved = 0;
        var response = await ((TestClock)broker.Time).StepUntilAsync(answer, due => due == ApprovalBroker.Interval && Interlocked.Exchange(ref moved, 1) == 0, Patience);

        Assert.StartsWith("done: ", response.Text, StringComparison.Ordinal);
        var forwarded = (await broker.AuditEventsAsync()).Where(e => e.Record.Type == Tessera.Core.Audit.AuditTypes.ProxyForwarded && e.Record.McpMethod is "tools/list" or "tools/call").ToList();
        Assert.Equal(["tools/list", "tools/call"], forwarded.Select(e => e.Record.McpMethod));
        Assert.All(forwarded, e => Assert.Equal("alice", e.Record.Principal));
        Assert.All(forwarded, e => Assert.Equal(mission.Id, e.Record.Mission));
    }
}
