using System.Buffers.Text;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Tessera.Server.Tests.Mcp;

namespace Tessera.Server.Tests.Approvals;

/// <summary>
/// Exact-call approvals of an MCP tool (docs/mcp.md, "Exact-call approvals"), end to end: the agent
/// (the official SDK client, or raw HTTP for what no SDK sends) asks for <c>issues:admin</c> bound to
/// one <c>tools/call delete_issue</c> with its arguments; bob sees the call and its arguments, approves;
/// the redeemed token lets exactly that call through to a real MCP server, once, and nothing else.
/// The arguments never reach the audit log, the token, a log line or a webhook.
/// </summary>
[Trait("Speed", "Slow")] // each test starts a broker and an MCP server on real sockets
public sealed class McpApprovalTests
{
    /// <summary>Placed in the arguments: wherever it turns up, the arguments leaked.</summary>
    private const string Marker = "argument-marker-5b0c2e91d4";

    /// <summary>The approved arguments in RFC 8785 form, written out by hand (members sorted, no spaces).</summary>
    private const string Canonical = $$"""{"note":"{{Marker}}","number":7,"repo":"widgets"}""";

    /// <summary>The same arguments as the agent sends them for the approver: another order, spaces.</summary>
    private const string Submitted = $$"""{ "repo": "widgets", "number": 7, "note": "{{Marker}}" }""";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15); // real time, only to fail a hung test

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>The arguments as the SDK client sends them: a third member order.</summary>
    private static Dictionary<string, object?> Arguments(int number = 7) => new() { ["number"] = number, ["repo"] = "widgets", ["note"] = Marker };

    public static TheoryData<string> Protocols => [McpTestClient.SessionProtocol, McpTestClient.StatelessProtocol];

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task An_approved_call_is_shown_with_its_arguments_and_passes_the_gateway_in_another_member_order(string protocol)
    {
        await using var receiver = await TestUpstream.StartAsync();
        await using var mcp = await McpApprovalBroker.StartAsync(webhook: new Uri(receiver.Address, "/hooks/approvals"));
        await McpApprovalBroker.PutAsync(mcp.Broker, McpApprovalBroker.WebhookSecret, "whsec-oncall-5d1e9a07c3b24f68");

        var id = await mcp.RequestAsync("issues:admin", McpApprovalBroker.Call("delete_issue", Canonical, Submitted));

        // The approver (bob, and the bootstrap admin alike) sees the tool, the call and its arguments, canonical.
        foreach (var bearer in new[] { mcp.Idp.As(mcp.Broker, "bob"), mcp.Broker.AdminToken })
        {
            var approval = Assert.Single((await mcp.Broker.ListApprovalsAsync(bearer)).EnumerateArray());
            Assert.Equal(id, approval.GetProperty("id").GetString());
            Assert.Equal("issues", approval.GetProperty("tool").GetString());
            Assert.Equal(["issues:admin"], approval.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
            var detail = Assert.Single(approval.GetProperty("authorization_details").EnumerateArray());
            Assert.Equal("tessera_mcp_call", detail.GetProperty("type").GetString());
            Assert.Equal("issues", detail.GetProperty("tool").GetString());
            Assert.Equal("delete_issue", detail.GetProperty("name").GetString());
            Assert.Equal(McpApprovalBroker.Sha256(Canonical), detail.GetProperty("arguments_sha256").GetString());
            Assert.False(detail.TryGetProperty("arguments", out _));
            Assert.Equal(Canonical, approval.GetProperty("arguments").GetRawText());
        }

        // The webhook names the call but not its arguments: those stay behind the authenticated API.
        var hook = await receiver.ArrivalAsync(1).WaitAsync(Patience, Cancel);
        var hookText = Encoding.UTF8.GetString(hook.Body);
        Assert.DoesNotContain(Marker, hookText, StringComparison.Ordinal);
        using (var hookBody = JsonDocument.Parse(hook.Body))
        {
            var announced = hookBody.RootElement.GetProperty("approval");
            Assert.Equal("delete_issue", announced.GetProperty("authorization_details")[0].GetProperty("name").GetString());
            Assert.False(announced.TryGetProperty("arguments", out _));
        }

        var token = await mcp.ApproveAndRedeemAsync(id);

        // The token carries the binding, not the arguments.
        var payload = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token.Split('.')[1]));
        Assert.DoesNotContain(Marker, payload, StringComparison.Ordinal);
        using (var claims = JsonDocument.Parse(payload))
        {
            var bound = Assert.Single(claims.RootElement.GetProperty("authorization_details").EnumerateArray());
            Assert.Equal(McpApprovalBroker.Sha256(Canonical), bound.GetProperty("arguments_sha256").GetString());
            Assert.Equal("delete_issue", bound.GetProperty("name").GetString());
            Assert.False(bound.TryGetProperty("arguments", out _));
            Assert.Equal(1, claims.RootElement.GetProperty("max_uses").GetInt32());
        }

        // The SDK client's session (initialize and the rest of the lifecycle) passes on the approved
        // token and spends nothing of its one use; the call passes with the arguments in a third order.
        var client = await McpTestClient.ConnectAsync(mcp.Endpoint, token, Cancel, protocol);
        CallToolResult result;
        await using (client)
        {
            result = await client.CallToolAsync("delete_issue", Arguments(), cancellationToken: Cancel);
        }

        Assert.NotEqual(true, result.IsError);
        using (var echo = JsonDocument.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text))
        {
            Assert.Equal("delete_issue", echo.RootElement.GetProperty("tool").GetString());
            var args = echo.RootElement.GetProperty("arguments");
            Assert.Equal(7, args.GetProperty("number").GetInt32());
            Assert.Equal("widgets", args.GetProperty("repo").GetString());
            Assert.Equal(Marker, args.GetProperty("note").GetString());
        }

        var call = Assert.Single(mcp.Upstream.Received, r => r.Method == "POST" && Method(r) == "tools/call");
        Assert.Equal(McpTestServer.Credential, call.Headers["Authorization"]);
        Assert.DoesNotContain(mcp.Upstream.Received, r => r.Headers.TryGetValue("Authorization", out var a) && a.Contains(token, StringComparison.Ordinal));
        if (protocol == McpTestClient.SessionProtocol)
        {
            Assert.Equal("initialize", mcp.Upstream.ReceivedMethods()[0]);
        }

        var events = await mcp.Broker.AuditEventsAsync();
        var forwarded = Assert.Single(events, e => e.Record.Type == AuditTypes.ProxyForwarded && e.Record.McpMethod == "tools/call");
        Assert.Equal("delete_issue", forwarded.Record.McpName);
        Assert.Equal("MCP tools/call delete_*", forwarded.Record.Rule);
        Assert.DoesNotContain(events, e => e.Record.Type == AuditTypes.ProxyDenied);
        await AssertArgumentsNowhereAsync(mcp);
    }

    [Fact]
    public async Task The_approved_call_passes_once_and_its_replay_is_refused_as_spent()
    {
        await using var mcp = await McpApprovalBroker.StartAsync();
        var token = await mcp.ApprovedTokenAsync("issues:admin", McpApprovalBroker.Call("delete_issue", Canonical, Submitted));
        await using var client = await McpTestClient.ConnectAsync(mcp.Endpoint, token, Cancel);

        await client.CallToolAsync("delete_issue", Arguments(), cancellationToken: Cancel);
        var replay = await Assert.ThrowsAsync<HttpRequestException>(() => client.CallToolAsync("delete_issue", Arguments(), cancellationToken: Cancel).AsTask());

        Assert.Equal(HttpStatusCode.Forbidden, replay.StatusCode);
        Assert.Single(mcp.Upstream.ReceivedMethods(), m => m == "tools/call");
        var spent = await AuditAssert.RefusedOnceAsync(mcp.Broker, AuditTypes.ProxyDenied, "proxy.uses_spent");
        Assert.Equal("tools/call", spent.Record.McpMethod);
        Assert.Equal("delete_issue", spent.Record.McpName);

        // The session around the spent call still ends: the DELETE is lifecycle, and spends nothing.
        await client.DisposeAsync();
        Assert.Contains(mcp.Upstream.Received, r => r.Method == "DELETE");
        await AssertArgumentsNowhereAsync(mcp);
    }

    [Fact]
    public async Task The_approved_token_refuses_other_arguments_other_tools_and_tools_list_even_where_its_scopes_rules_allow_them()
    {
        await using var mcp = await McpApprovalBroker.StartAsync();
        // issues:read allows tools/list and get_issue, issues:admin every delete_*: the binding narrows all of it to one call.
        var token = await mcp.ApprovedTokenAsync("issues:read issues:admin", McpApprovalBroker.Call("delete_issue", Canonical, Submitted));
        await using var client = await McpTestClient.ConnectAsync(mcp.Endpoint, token, Cancel);
        // Messages only: the SDK's client opens its GET stream in the background, whenever it gets to it.
        var before = mcp.Upstream.Received.Count(r => r.Method == "POST");

        await RefusedAsync(mcp, "delete_issue", () => client.CallToolAsync("delete_issue", Arguments(number: 8), cancellationToken: Cancel).AsTask());
        await RefusedAsync(mcp, "delete_repo", () => client.CallToolAsync("delete_repo", new Dictionary<string, object?> { ["repo"] = "widgets" }, cancellationToken: Cancel).AsTask());
        await RefusedAsync(mcp, "get_issue", () => client.CallToolAsync("get_issue", new Dictionary<string, object?> { ["number"] = 7 }, cancellationToken: Cancel).AsTask());
        await RefusedAsync(mcp, null, () => client.ListToolsAsync(cancellationToken: Cancel).AsTask(), "tools/list");

        Assert.Equal(before, mcp.Upstream.Received.Count(r => r.Method == "POST"));
        var refusals = (await mcp.Broker.AuditEventsAsync()).Where(e => e.Record.Type == AuditTypes.ProxyDenied).ToList();
        Assert.Equal(4, refusals.Count);
        Assert.All(refusals, r => Assert.Equal("mcp.not_the_approved_call", r.Record.ReasonCode));

        // Refusals spend no use: the approved call still passes.
        var result = await client.CallToolAsync("delete_issue", Arguments(), cancellationToken: Cancel);
        Assert.NotEqual(true, result.IsError);
        Assert.Single(mcp.Upstream.ReceivedMethods(), m => m == "tools/call");
        await AssertArgumentsNowhereAsync(mcp);
    }

    [Fact]
    public async Task Racing_copies_of_the_approved_call_pass_once()
    {
        await using var mcp = await McpApprovalBroker.StartAsync();
        var token = await mcp.ApprovedTokenAsync("issues:admin", McpApprovalBroker.Call("delete_issue", Canonical, Submitted));

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            using var response = await mcp.PostAsync(token, ToolsCall("delete_issue", Submitted));
            return response.StatusCode;
        }));

        Assert.Equal(7, answers.Count(a => a == HttpStatusCode.Forbidden));
        Assert.Single(mcp.Upstream.ReceivedMethods(), m => m == "tools/call");
        var events = await mcp.Broker.AuditEventsAsync();
        Assert.Single(events, e => e.Record.Type == AuditTypes.ProxyForwarded);
        Assert.Equal(7, events.Count(e => e.Record.ReasonCode == "proxy.uses_spent"));
    }

    [Fact]
    public async Task A_call_approved_by_its_hash_alone_shows_no_arguments_and_binds_all_the_same()
    {
        await using var mcp = await McpApprovalBroker.StartAsync();
        var id = await mcp.RequestAsync("issues:admin", McpApprovalBroker.Call("delete_issue", Canonical, arguments: null));

        var approval = Assert.Single((await mcp.Broker.ListApprovalsAsync(mcp.Idp.As(mcp.Broker, "bob"))).EnumerateArray());
        Assert.False(approval.TryGetProperty("arguments", out _));
        Assert.Equal(McpApprovalBroker.Sha256(Canonical), approval.GetProperty("authorization_details")[0].GetProperty("arguments_sha256").GetString());
        var token = await mcp.ApproveAndRedeemAsync(id);
        await using var client = await McpTestClient.ConnectAsync(mcp.Endpoint, token, Cancel);

        await RefusedAsync(mcp, "delete_issue", () => client.CallToolAsync("delete_issue", Arguments(number: 8), cancellationToken: Cancel).AsTask());
        var result = await client.CallToolAsync("delete_issue", Arguments(), cancellationToken: Cancel);

        Assert.NotEqual(true, result.IsError);
        Assert.Single(mcp.Upstream.ReceivedMethods(), m => m == "tools/call");
    }

    [Fact]
    public async Task A_call_approved_without_arguments_passes_without_any_or_with_none_and_not_with_some()
    {
        await using var mcp = await McpApprovalBroker.StartAsync();
        var token = await mcp.ApprovedTokenAsync("issues:admin", McpApprovalBroker.Call("delete_repo", "{}", "{}"));

        using (var some = await mcp.PostAsync(token, ToolsCall("delete_repo", "{\"repo\":\"widgets\"}")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, some.StatusCode);
        }

        using (var without = await mcp.PostAsync(token, ToolsCall("delete_repo", null)))
        {
            Assert.NotEqual(HttpStatusCode.Forbidden, without.StatusCode);
        }

        var call = Assert.Single(mcp.Upstream.Received);
        Assert.Equal(ToolsCall("delete_repo", null), Encoding.UTF8.GetString(call.Body));
        await AuditAssert.RefusedOnceAsync(mcp.Broker, AuditTypes.ProxyDenied, "mcp.not_the_approved_call");
    }

    [Fact]
    public async Task Arguments_too_deep_for_the_approval_list_are_refused_and_the_deepest_shown_ones_break_nothing()
    {
        await using var mcp = await McpApprovalBroker.StartAsync();
        var deepest = Nested(61);
        var tooDeep = Nested(62);

        // One agent's deep arguments must not take the list away from every approver (it was a 500).
        using (var refused = await mcp.AskAsync("issues:admin", McpApprovalBroker.Call("delete_issue", tooDeep, tooDeep)))
        {
            await OAuthAssert.ErrorAsync(refused, HttpStatusCode.BadRequest, "invalid_authorization_details");
        }

        var deepId = await mcp.RequestAsync("issues:admin", McpApprovalBroker.Call("delete_issue", deepest, deepest));
        var hashedId = await mcp.RequestAsync("issues:admin", McpApprovalBroker.Call("delete_issue", tooDeep, arguments: null));
        var approvals = (await mcp.Broker.ListApprovalsAsync(mcp.Idp.As(mcp.Broker, "bob"))).EnumerateArray().ToDictionary(a => a.GetProperty("id").GetString()!);

        Assert.Equal(deepest, approvals[deepId].GetProperty("arguments").GetRawText());
        Assert.False(approvals[hashedId].TryGetProperty("arguments", out _));
        var token = await mcp.ApproveAndRedeemAsync(hashedId);
        using var call = await mcp.PostAsync(token, ToolsCall("delete_issue", tooDeep));
        Assert.NotEqual(HttpStatusCode.Forbidden, call.StatusCode);
        Assert.Single(mcp.Upstream.ReceivedMethods(), m => m == "tools/call");
    }

    /// <summary><c>{"a":{"a":...1...}}</c>, <paramref name="depth"/> objects deep (canonical as written).</summary>
    private static string Nested(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth - 1)) + "{\"a\":1}" + new string('}', depth - 1);

    [Fact]
    public async Task The_submitted_arguments_are_still_shown_after_a_restart()
    {
        await using var mcp = await McpApprovalBroker.StartAsync();
        var id = await mcp.RequestAsync("issues:admin", McpApprovalBroker.Call("delete_issue", Canonical, Submitted));

        await mcp.RestartAsync();

        var approval = Assert.Single((await mcp.Broker.ListApprovalsAsync(mcp.Broker.AdminToken)).EnumerateArray());
        Assert.Equal(id, approval.GetProperty("id").GetString());
        Assert.Equal(Canonical, approval.GetProperty("arguments").GetRawText());
        await AssertArgumentsNowhereAsync(mcp);
    }

    [Fact]
    public async Task Revoking_the_approval_mid_session_stops_the_approved_call_and_the_session_alike()
    {
        await using var mcp = await McpApprovalBroker.StartAsync();
        var id = await mcp.RequestAsync("issues:admin", McpApprovalBroker.Call("delete_issue", Canonical, Submitted));
        var token = await mcp.ApproveAndRedeemAsync(id);
        await using var client = await McpTestClient.ConnectAsync(mcp.Endpoint, token, Cancel);
        await client.PingAsync(cancellationToken: Cancel);
        var before = mcp.Upstream.Received.Count(r => r.Method == "POST");

        using (var revoked = await mcp.Broker.SendAsync(HttpMethod.Post, "/admin/v1/revocations", mcp.Broker.AdminToken, new { kind = "approval", id }))
        {
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        var call = await Assert.ThrowsAsync<HttpRequestException>(() => client.CallToolAsync("delete_issue", Arguments(), cancellationToken: Cancel).AsTask());
        var ping = await Assert.ThrowsAsync<HttpRequestException>(() => client.PingAsync(cancellationToken: Cancel).AsTask());

        Assert.Equal(HttpStatusCode.Unauthorized, call.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, ping.StatusCode);
        Assert.Equal(before, mcp.Upstream.Received.Count(r => r.Method == "POST"));
        Assert.Contains("ping", mcp.Upstream.ReceivedMethods());
        Assert.DoesNotContain("tools/call", mcp.Upstream.ReceivedMethods());
    }

    public static TheoryData<string, string> HostileCalls => new()
    {
        // One member more, one less, none at all, or the same value as another type: other arguments.
        { "an extra member", ToolsCall("delete_issue", Canonical.Replace("}", ",\"force\":true}", StringComparison.Ordinal)) },
        { "a member missing", ToolsCall("delete_issue", Canonical.Replace(",\"repo\":\"widgets\"", "", StringComparison.Ordinal)) },
        { "no arguments", ToolsCall("delete_issue", null) },
        { "null arguments", ToolsCall("delete_issue", "null") },
        { "a number as a string", ToolsCall("delete_issue", Canonical.Replace("\"number\":7", "\"number\":\"7\"", StringComparison.Ordinal)) },
        { "the arguments one level down", ToolsCall("delete_issue", "{\"arguments\":" + Canonical + "}") },
        { "the approved arguments for another tool", ToolsCall("delete_repo", Canonical) },
        { "the approved call's params under another method", "{\"jsonrpc\":\"2.0\",\"method\":\"tools/list\",\"params\":{\"name\":\"delete_issue\",\"arguments\":" + Canonical + "}}" },
    };

    /// <summary>A <c>tools/call</c> request of <paramref name="name"/> with <paramref name="arguments"/> as written (none when null).</summary>
    private static string ToolsCall(string name, string? arguments) =>
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"" + name + "\"" + (arguments is null ? "" : ",\"arguments\":" + arguments) + "}}";

    [Theory]
    [MemberData(nameof(HostileCalls))]
    public async Task A_hand_written_call_that_is_not_the_approved_one_is_refused_and_reaches_nobody(string what, string message)
    {
        _ = what;
        await using var mcp = await McpApprovalBroker.StartAsync();
        var token = await mcp.ApprovedTokenAsync("issues:read issues:admin", McpApprovalBroker.Call("delete_issue", Canonical, Submitted));

        using var response = await mcp.PostAsync(token, message);

        var body = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, body);
        Assert.Equal(-32001, JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Empty(mcp.Upstream.Received);
        await AuditAssert.RefusedOnceAsync(mcp.Broker, AuditTypes.ProxyDenied, "mcp.not_the_approved_call");
        Assert.DoesNotContain(Marker, body, StringComparison.Ordinal);
        await AssertArgumentsNowhereAsync(mcp);
    }

    [Fact]
    public async Task A_hand_written_approved_call_with_the_members_reordered_and_spaced_passes_with_its_bytes_unchanged()
    {
        await using var mcp = await McpApprovalBroker.StartAsync();
        var token = await mcp.ApprovedTokenAsync("issues:admin", McpApprovalBroker.Call("delete_issue", Canonical, Submitted));
        // Stateless (2026-07-28): one request, no session; escapes and spacing the canonical form would not have.
        var message = $$"""{ "params" : { "arguments" : { "repo" : "wid\u0067ets" , "note" : "{{Marker}}" , "number" : 7 } , "name" : "delete_issue" } , "method" : "tools/call" , "id" : 3 , "jsonrpc" : "2.0" }""";

        using var request = new HttpRequestMessage(HttpMethod.Post, "/proxy/issues") { Content = new StringContent(message, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        request.Headers.Add("MCP-Protocol-Version", McpTestClient.StatelessProtocol);
        request.Headers.Add("Mcp-Method", "tools/call");
        request.Headers.Add("Mcp-Name", "delete_issue");
        using var response = await mcp.Broker.Client.SendAsync(request, Cancel);

        var call = Assert.Single(mcp.Upstream.Received);
        Assert.Equal(message, Encoding.UTF8.GetString(call.Body));
        Assert.NotEqual(HttpStatusCode.Forbidden, response.StatusCode);
        var forwarded = Assert.Single(await mcp.Broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ProxyForwarded);
        Assert.Equal("delete_issue", forwarded.Record.McpName);
        await AssertArgumentsNowhereAsync(mcp);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task A_GET_or_DELETE_carrying_a_call_in_its_body_is_refused_and_the_call_reaches_nobody(string method)
    {
        // GET and DELETE are the session's lifecycle: Tessera checks no rule and no binding for them, so
        // a body they carried would reach the server unread, and a server reading JSON-RPC from any
        // request would run the call no rule allowed.
        await using var mcp = await McpApprovalBroker.StartAsync();
        var token = await mcp.ApprovedTokenAsync("issues:admin", McpApprovalBroker.Call("delete_issue", Canonical, Submitted));
        using var request = new HttpRequestMessage(new HttpMethod(method), "/proxy/issues")
        {
            Content = new StringContent(ToolsCall("delete_repo", "{\"repo\":\"widgets\"}"), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");

        using var response = await mcp.Broker.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(mcp.Upstream.Received);
        var refused = await AuditAssert.RefusedOnceAsync(mcp.Broker, AuditTypes.ProxyDenied, "mcp.body_not_allowed");
        Assert.Equal(method, refused.Record.Method);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task A_GET_or_DELETE_with_an_empty_body_is_still_the_session_lifecycle(string method)
    {
        await using var mcp = await McpApprovalBroker.StartAsync();
        var token = await mcp.ApprovedTokenAsync("issues:admin", McpApprovalBroker.Call("delete_issue", Canonical, Submitted));
        using var request = new HttpRequestMessage(new HttpMethod(method), "/proxy/issues") { Content = new ByteArrayContent([]) };
        request.Content.Headers.ContentLength = 0;
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.ParseAdd("text/event-stream");

        using var response = await mcp.Broker.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancel);

        Assert.Equal(method, Assert.Single(mcp.Upstream.Received).Method);
        Assert.Single(await mcp.Broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ProxyForwarded && e.Record.Method == method);
    }

    [Fact]
    public async Task An_agent_naming_the_tool_by_its_url_binds_a_call_as_well()
    {
        // MCP clients name a server by its URL (RFC 8707 resource), not by Tessera's scope names alone.
        await using var mcp = await McpApprovalBroker.StartAsync();
        using var asked = await mcp.Broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("resource", $"{TestBroker.Issuer}/proxy/issues"),
            ("scope", "issues:admin"), ("authorization_details", McpApprovalBroker.Call("delete_issue", Canonical, Submitted)));
        using var answer = JsonDocument.Parse(await OAuthAssert.ErrorAsync(asked, HttpStatusCode.BadRequest, "approval_required"));
        var token = await mcp.ApproveAndRedeemAsync(answer.RootElement.GetProperty("auth_req_id").GetString()!);
        await using var client = await McpTestClient.ConnectAsync(mcp.Endpoint, token, Cancel);

        await RefusedAsync(mcp, "delete_repo", () => client.CallToolAsync("delete_repo", new Dictionary<string, object?> { ["repo"] = "widgets" }, cancellationToken: Cancel).AsTask());
        var result = await client.CallToolAsync("delete_issue", Arguments(), cancellationToken: Cancel);

        Assert.NotEqual(true, result.IsError);
        Assert.Single(mcp.Upstream.ReceivedMethods(), m => m == "tools/call");
    }

    public static TheoryData<string, string, string> RefusedDetails => new()
    {
        {
            "arguments that do not hash to arguments_sha256", "issues:admin",
            McpApprovalBroker.Call("delete_issue", Canonical, Canonical.Replace("\"number\":7", "\"number\":8", StringComparison.Ordinal))
        },
        {
            // issues:read allows get_issue, but only issues:admin is requested.
            "a name the requested scope's rules do not allow", "issues:admin", McpApprovalBroker.Call("get_issue", Canonical, Submitted)
        },
        {
            "a name no scope allows", "issues:admin", McpApprovalBroker.Call("drop_database", Canonical, Submitted)
        },
        {
            "tessera_request for an MCP tool", "issues:admin",
            $$"""[{"type":"tessera_request","tool":"issues","method":"POST","path":"/","body_sha256":"{{McpApprovalBroker.Sha256(Canonical)}}"}]"""
        },
        {
            "tessera_mcp_call for an HTTP tool", "billing:change", McpApprovalBroker.Call("delete_issue", Canonical, Submitted, tool: "billing")
        },
        {
            "tessera_mcp_call naming another tool", "issues:admin", McpApprovalBroker.Call("delete_issue", Canonical, Submitted, tool: "billing")
        },
        {
            "arguments that are not an object", "issues:admin",
            McpApprovalBroker.Call("delete_issue", $"[\"{Marker}\"]", $"[\"{Marker}\"]")
        },
        {
            "arguments naming a member twice", "issues:admin",
            McpApprovalBroker.Call("delete_issue", Canonical, Canonical.Replace("\"number\":7", "\"number\":7,\"number\":7", StringComparison.Ordinal))
        },
    };

    [Theory]
    [MemberData(nameof(RefusedDetails))]
    public async Task A_token_request_whose_call_detail_is_not_acceptable_is_refused_and_nothing_waits_for_approval(string what, string scope, string details)
    {
        _ = what;
        await using var mcp = await McpApprovalBroker.StartAsync();

        using var asked = await mcp.AskAsync(scope, details);

        var body = await OAuthAssert.ErrorAsync(asked, HttpStatusCode.BadRequest, "invalid_authorization_details");
        Assert.DoesNotContain(Marker, body, StringComparison.Ordinal);
        Assert.Empty((await mcp.Broker.ListApprovalsAsync(mcp.Broker.AdminToken)).EnumerateArray());
        var denied = await AuditAssert.RefusedOnceAsync(mcp.Broker, AuditTypes.TokenDenied, "approval.not_requested");
        Assert.StartsWith("invalid_authorization_details: ", denied.Record.Reason, StringComparison.Ordinal);
        Assert.Empty(mcp.Upstream.Received);
        await AssertArgumentsNowhereAsync(mcp);
    }

    /// <summary>The SDK call is refused with 403 and audited as not the approved call, naming what was called.</summary>
    private static async Task RefusedAsync(McpApprovalBroker mcp, string? name, Func<Task> call, string method = "tools/call")
    {
        var refused = await Assert.ThrowsAsync<HttpRequestException>(call);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        var denial = await AuditAssert.LastRefusalAsync(mcp.Broker, AuditTypes.ProxyDenied, "mcp.not_the_approved_call");
        Assert.Equal(method, denial.Record.McpMethod);
        Assert.Equal(name, denial.Record.McpName);
    }

    /// <summary>The marker in the arguments is in no audit event (its whole JSON) and no log line of the broker.</summary>
    private static async Task AssertArgumentsNowhereAsync(McpApprovalBroker mcp)
    {
        var events = await mcp.Broker.AuditEventsAsync();
        Assert.NotEmpty(events);
        Assert.All(events, e => Assert.DoesNotContain(Marker, Encoding.UTF8.GetString(e.Json), StringComparison.Ordinal));
        Assert.NotEmpty(mcp.Logs.Lines);
        Assert.DoesNotContain(Marker, mcp.Logs.All, StringComparison.Ordinal);
    }

    private static string? Method(ReceivedRequest request)
    {
        using var doc = JsonDocument.Parse(request.Body);
        return doc.RootElement.TryGetProperty("method", out var m) ? m.GetString() : null;
    }
}
