using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Tessera.Server.Tests.Mcp;

/// <summary>
/// The MCP gateway seen by an agent (docs/mcp.md): the official SDK client connects to
/// <c>/proxy/issues</c> on a running Tessera, which forwards to the SDK server (<see cref="McpTestServer"/>)
/// with the vault's credential, shows only what the token's scopes allow, and records each message.
/// Run in both framings of the upstream's answer (an event stream or one JSON body) and both protocol
/// eras of the client (the initialize handshake with sessions, and the 2026-07-28 per-request protocol).
/// </summary>
public sealed class McpGatewayTests
{
    public static TheoryData<McpResponseMode, string> Modes => new()
    {
        { McpResponseMode.Sse, McpTestClient.SessionProtocol },
        { McpResponseMode.Json, McpTestClient.SessionProtocol },
        { McpResponseMode.Sse, McpTestClient.StatelessProtocol },
        { McpResponseMode.Json, McpTestClient.StatelessProtocol },
    };

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task A_read_token_lists_only_the_tools_its_rules_let_it_call(McpResponseMode mode, string protocol)
    {
        await using var mcp = await McpBroker.StartAsync(new() { ResponseMode = mode });
        await using var agent = await McpTestClient.ConnectAsync(mcp.Endpoint, await mcp.TokenAsync(), Cancel, protocol);

        var tools = await agent.ListToolsAsync(cancellationToken: Cancel);

        Assert.Equal(["get_issue", "search_issues"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Equal(protocol, agent.NegotiatedProtocolVersion);

        // The upstream listed all five: the filtering is Tessera's.
        Assert.Contains("tools/list", mcp.Upstream.ReceivedMethods());
    }

    [Theory]
    [InlineData(McpResponseMode.Sse)]
    [InlineData(McpResponseMode.Json)]
    public async Task Among_two_hundred_generated_tools_none_is_shown_that_no_rule_names(McpResponseMode mode)
    {
        await using var mcp = await McpBroker.StartAsync(new() { ResponseMode = mode, GeneratedTools = 200 });
        await using var agent = await McpTestClient.ConnectAsync(mcp.Endpoint, await mcp.TokenAsync(), Cancel);

        var tools = await agent.ListToolsAsync(cancellationToken: Cancel);

        Assert.Equal(["get_issue", "search_issues"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task A_write_and_admin_token_sees_the_tools_of_its_scopes_too(McpResponseMode mode, string protocol)
    {
        await using var mcp = await McpBroker.StartAsync(new() { ResponseMode = mode });
        await using var agent = await McpTestClient.ConnectAsync(mcp.Endpoint, await mcp.TokenAsync("issues:read issues:write issues:admin"), Cancel, protocol);

        var tools = await agent.ListToolsAsync(cancellationToken: Cancel);

        Assert.Equal(McpTestServer.NamedTools.Order(StringComparer.Ordinal), tools.Select(t => t.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task A_call_the_rules_allow_reaches_the_upstream_with_its_arguments(McpResponseMode mode, string protocol)
    {
        await using var mcp = await McpBroker.StartAsync(new() { ResponseMode = mode });
        await using var agent = await McpTestClient.ConnectAsync(mcp.Endpoint, await mcp.TokenAsync(), Cancel, protocol);

        var result = await agent.CallToolAsync("get_issue", new Dictionary<string, object?> { ["number"] = 7 }, cancellationToken: Cancel);

        Assert.NotEqual(true, result.IsError);
        using var echo = JsonDocument.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        Assert.Equal("get_issue", echo.RootElement.GetProperty("tool").GetString());
        Assert.Equal(7, echo.RootElement.GetProperty("arguments").GetProperty("number").GetInt32());
        var call = Assert.Single(mcp.Upstream.Received, r => JsonRpcMethod(r) == "tools/call");
        using var body = JsonDocument.Parse(call.Body);
        Assert.Equal(7, body.RootElement.GetProperty("params").GetProperty("arguments").GetProperty("number").GetInt32());
        Assert.Equal("get_issue", call.Headers["Mcp-Name"]);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task A_resource_under_the_rule_is_read_and_one_outside_it_is_refused_before_the_upstream(McpResponseMode mode, string protocol)
    {
        await using var mcp = await McpBroker.StartAsync(new() { ResponseMode = mode });
        await using var agent = await McpTestClient.ConnectAsync(mcp.Endpoint, await mcp.TokenAsync(), Cancel, protocol);

        var readme = await agent.ReadResourceAsync(McpTestServer.ReadmeUri, cancellationToken: Cancel);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => agent.ReadResourceAsync(McpTestServer.SecretKeysUri, cancellationToken: Cancel).AsTask());

        Assert.StartsWith("# Widgets", Assert.IsType<TextResourceContents>(Assert.Single(readme.Contents)).Text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.DoesNotContain(mcp.Upstream.Received, r => Encoding.UTF8.GetString(r.Body).Contains(McpTestServer.SecretKeysUri, StringComparison.Ordinal));
        var denied = Assert.Single(await mcp.Broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ProxyDenied);
        Assert.Equal("resources/read", denied.Record.McpMethod);
        Assert.Equal(McpTestServer.SecretKeysUri, denied.Record.McpName);
        Assert.Equal(403, denied.Record.Status);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Resources_and_prompts_are_listed_as_far_as_the_rules_reach(McpResponseMode mode, string protocol)
    {
        await using var mcp = await McpBroker.StartAsync(new() { ResponseMode = mode });
        await using var agent = await McpTestClient.ConnectAsync(mcp.Endpoint, await mcp.TokenAsync(), Cancel, protocol);

        var resources = await agent.ListResourcesAsync(cancellationToken: Cancel);
        var prompts = await agent.ListPromptsAsync(cancellationToken: Cancel);
        var summary = await agent.GetPromptAsync("summarize", new Dictionary<string, object?> { ["issue"] = "42" }, cancellationToken: Cancel);

        Assert.Equal([McpTestServer.ReadmeUri], resources.Select(r => r.Uri));
        Assert.Equal(["summarize"], prompts.Select(p => p.Name));
        Assert.Equal("Summarize issue 42.", Assert.IsType<TextContentBlock>(Assert.Single(summary.Messages).Content).Text);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task A_templated_resource_is_read_where_the_rule_reaches_and_listing_templates_needs_its_own_rule(McpResponseMode mode, string protocol)
    {
        await using var mcp = await McpBroker.StartAsync(new() { ResponseMode = mode });
        await using var agent = await McpTestClient.ConnectAsync(mcp.Endpoint, await mcp.TokenAsync(), Cancel, protocol);

        var issue = await agent.ReadResourceAsync("repo://acme/widgets/issues/7", cancellationToken: Cancel);
        var outside = await Assert.ThrowsAsync<HttpRequestException>(() => agent.ReadResourceAsync("repo://acme/secret/issues/1", cancellationToken: Cancel).AsTask());
        var templates = await Assert.ThrowsAsync<HttpRequestException>(() => agent.ListResourceTemplatesAsync(cancellationToken: Cancel).AsTask());

        Assert.Equal("issue acme/widgets#7", Assert.IsType<TextResourceContents>(Assert.Single(issue.Contents)).Text);
        Assert.Equal(HttpStatusCode.Forbidden, outside.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, templates.StatusCode);
        Assert.DoesNotContain(mcp.Upstream.Received, r => Encoding.UTF8.GetString(r.Body).Contains("repo://acme/secret", StringComparison.Ordinal));
        Assert.DoesNotContain("resources/templates/list", mcp.Upstream.ReceivedMethods());
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task The_upstream_gets_the_vaults_credential_and_never_the_agents_token(McpResponseMode mode, string protocol)
    {
        await using var mcp = await McpBroker.StartAsync(new() { ResponseMode = mode });
        var token = await mcp.TokenAsync();
        await using (var agent = await McpTestClient.ConnectAsync(mcp.Endpoint, token, Cancel, protocol))
        {
            await agent.ListToolsAsync(cancellationToken: Cancel);
            await agent.CallToolAsync("search_issues", new Dictionary<string, object?> { ["query"] = "widgets" }, cancellationToken: Cancel);
        }

        Assert.NotEmpty(mcp.Upstream.Received);
        Assert.All(mcp.Upstream.Received, r =>
        {
            Assert.Equal(McpTestServer.Credential, r.Headers["Authorization"]);
            Assert.DoesNotContain(r.Headers, h => h.Value.Contains(token, StringComparison.Ordinal));
            Assert.Equal("/mcp", r.RawTarget);
        });
    }

    [Fact]
    public async Task A_session_opens_its_get_stream_and_its_delete_ends_it_through_the_gateway()
    {
        await using var mcp = await McpBroker.StartAsync();
        var agent = await McpTestClient.ConnectAsync(mcp.Endpoint, await mcp.TokenAsync(), Cancel, McpTestClient.SessionProtocol);
        await agent.ListToolsAsync(cancellationToken: Cancel);
        var session = agent.SessionId;

        // The SDK opens the server's stream right after initialize; it reaches the upstream through Tessera.
        var get = await WaitForAsync(mcp.Upstream, r => r.Method == "GET");
        await agent.DisposeAsync();
        var delete = await WaitForAsync(mcp.Upstream, r => r.Method == "DELETE");

        // The agent holds the server's session id tagged for its token (server id, '.', 22 characters); the server sees its own.
        Assert.False(string.IsNullOrEmpty(session));
        var serverSession = session[..session.LastIndexOf('.')];
        Assert.Equal(serverSession.Length + 23, session.Length);
        Assert.Equal(serverSession, get.Headers["Mcp-Session-Id"]);
        Assert.Equal(serverSession, delete.Headers["Mcp-Session-Id"]);
        Assert.Equal(McpTestServer.Credential, get.Headers["Authorization"]);
        Assert.Equal(McpTestServer.Credential, delete.Headers["Authorization"]);
        var forwarded = (await mcp.Broker.AuditEventsAsync()).Where(e => e.Record.Type == AuditTypes.ProxyForwarded).Select(e => e.Record.Method).ToList();
        Assert.Contains("GET", forwarded);
        Assert.Contains("DELETE", forwarded);

        // The session is over at the upstream: a POST naming it is not served as that session.
        var token = await mcp.TokenAsync();
        var after = await mcp.PostAsync(token, """{"jsonrpc":"2.0","id":9,"method":"tools/list"}""",
            "Mcp-Method: tools/list", $"Mcp-Session-Id: {session}", $"MCP-Protocol-Version: {McpTestClient.SessionProtocol}");
        Assert.Equal(404, after.Status);
    }

    [Fact]
    public async Task The_tools_protected_resource_metadata_names_the_issuer_and_its_scopes()
    {
        await using var mcp = await McpBroker.StartAsync();

        using var response = await mcp.Broker.Client.GetAsync("/.well-known/oauth-protected-resource/proxy/issues", Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = await TestBroker.ReadJsonAsync(response);
        var root = json.RootElement;
        Assert.Equal(TestBroker.Issuer + "/proxy/issues", root.GetProperty("resource").GetString());
        Assert.Equal([TestBroker.Issuer], root.GetProperty("authorization_servers").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["issues:admin", "issues:read", "issues:write"], root.GetProperty("scopes_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["header"], root.GetProperty("bearer_methods_supported").EnumerateArray().Select(e => e.GetString()));
    }

    [Theory]
    [InlineData("/.well-known/oauth-protected-resource/proxy/nope")]
    [InlineData("/.well-known/oauth-protected-resource/proxy/issues/extra")]
    [InlineData("/.well-known/oauth-protected-resource/proxy/ISSUES")]
    public async Task No_metadata_is_published_for_a_tool_that_is_not_configured(string path)
    {
        await using var mcp = await McpBroker.StartAsync();

        using var response = await mcp.Broker.Client.GetAsync(path, Cancel);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task An_invalid_token_gets_401_invalid_token_naming_the_resource_metadata_too()
    {
        await using var mcp = await McpBroker.StartAsync();

        var response = await mcp.PostAsync(mcp.Proxy.SignToken(c => c with { ExpiresAt = c.IssuedAt - 1 }, "issues:read", "urn:tessera:tool:issues"),
            """{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", "Mcp-Method: tools/list");

        Assert.Equal(401, response.Status);
        Assert.Contains("error=\"invalid_token\"", response.Headers["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.Contains("resource_metadata=\"" + TestBroker.Issuer + "/.well-known/oauth-protected-resource/proxy/issues\"", response.Headers["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.Empty(mcp.Upstream.Received);
    }

    [Theory]
    [InlineData(McpTestClient.SessionProtocol)]
    [InlineData(McpTestClient.StatelessProtocol)]
    public async Task A_client_without_a_token_gets_401_naming_the_resource_metadata(string protocol)
    {
        await using var mcp = await McpBroker.StartAsync();
        var challenges = new List<string>();

        var failure = await Assert.ThrowsAsync<HttpRequestException>(() => McpTestClient.ConnectAsync(mcp.Endpoint, _ => ValueTask.CompletedTask, Cancel, protocol,
            response => challenges.AddRange(response.Headers.WwwAuthenticate.Select(h => h.ToString()))));

        Assert.Equal(HttpStatusCode.Unauthorized, failure.StatusCode);
        Assert.NotEmpty(challenges);
        Assert.All(challenges, c => Assert.Contains(
            "resource_metadata=\"" + TestBroker.Issuer + "/.well-known/oauth-protected-resource/proxy/issues\"", c, StringComparison.Ordinal));
        Assert.Empty(mcp.Upstream.Received);
    }

    [Fact]
    public async Task A_token_requested_for_the_tools_proxy_url_as_resource_is_accepted()
    {
        await using var mcp = await McpBroker.StartAsync();
        using var issued = await mcp.Broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret,
            ("resource", TestBroker.Issuer + "/proxy/issues"), ("scope", "issues:read"));
        Assert.True(issued.StatusCode == HttpStatusCode.OK, await issued.Content.ReadAsStringAsync(Cancel));
        using var json = await TestBroker.ReadJsonAsync(issued);
        var token = json.RootElement.GetProperty("access_token").GetString()!;

        await using var agent = await McpTestClient.ConnectAsync(mcp.Endpoint, token, Cancel);
        var tools = await agent.ListToolsAsync(cancellationToken: Cancel);

        Assert.Equal(["get_issue", "search_issues"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Each_message_is_recorded_by_method_and_name_and_never_with_its_arguments(McpResponseMode mode, string protocol)
    {
        const string marker = "arg-marker-7f3e9c1d";
        await using var mcp = await McpBroker.StartAsync(new() { ResponseMode = mode });
        await using (var agent = await McpTestClient.ConnectAsync(mcp.Endpoint, await mcp.TokenAsync(), Cancel, protocol))
        {
            await agent.CallToolAsync("search_issues", new Dictionary<string, object?> { ["query"] = marker }, cancellationToken: Cancel);
            await agent.GetPromptAsync("summarize", new Dictionary<string, object?> { ["issue"] = marker }, cancellationToken: Cancel);
        }

        // The marker reached the upstream: it was in the messages Tessera recorded.
        Assert.Contains(mcp.Upstream.Received, r => Encoding.UTF8.GetString(r.Body).Contains(marker, StringComparison.Ordinal));
        var events = await mcp.Broker.AuditEventsAsync();
        var forwarded = events.Where(e => e.Record.Type == AuditTypes.ProxyForwarded).ToList();
        Assert.Contains(forwarded, e => e.Record.McpMethod == "tools/call" && e.Record.McpName == "search_issues" && e.Record.Rule == "MCP tools/call search_*");
        Assert.Contains(forwarded, e => e.Record.McpMethod == "prompts/get" && e.Record.McpName == "summarize");
        Assert.Contains(forwarded, e => e.Record.McpMethod == (protocol == McpTestClient.SessionProtocol ? "initialize" : "server/discover"));

        // Not in any event, not in what an operator's `tessera audit` reads (the admin API), not in the database file.
        Assert.DoesNotContain(events, e => Encoding.UTF8.GetString(e.Json).Contains(marker, StringComparison.Ordinal));
        using var audit = await mcp.Proxy.AdminAsync(HttpMethod.Get, "/admin/v1/audit?limit=10000");
        Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
        var auditJson = await audit.Content.ReadAsStringAsync(Cancel);
        Assert.Contains("\"mcp_method\":\"tools/call\"", auditJson, StringComparison.Ordinal);
        Assert.DoesNotContain(marker, auditJson, StringComparison.Ordinal);
        var recorded = false;
        foreach (var file in Directory.EnumerateFiles(mcp.Broker.Config.DataDir, "*", SearchOption.AllDirectories))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, Cancel);
            Assert.True(copy.ToArray().AsSpan().IndexOf(Encoding.UTF8.GetBytes(marker)) < 0, $"the arguments' marker is in {Path.GetFileName(file)}");
            recorded |= copy.ToArray().AsSpan().IndexOf("\"mcp_name\":\"search_issues\""u8) >= 0;
        }

        // The files searched are the ones holding the events.
        Assert.True(recorded);
    }

    [Fact]
    public async Task The_metrics_count_mcp_messages_by_tool_and_method()
    {
        await using var mcp = await McpBroker.StartAsync();
        await using (var agent = await McpTestClient.ConnectAsync(mcp.Endpoint, await mcp.TokenAsync(), Cancel, McpTestClient.StatelessProtocol))
        {
            await agent.CallToolAsync("get_issue", new Dictionary<string, object?> { ["number"] = 1 }, cancellationToken: Cancel);
            await Assert.ThrowsAsync<HttpRequestException>(() => agent.CallToolAsync("delete_repo", new Dictionary<string, object?> { ["repo"] = "widgets" }, cancellationToken: Cancel).AsTask());
        }

        var metrics = await mcp.Broker.Client.GetStringAsync("/metrics", Cancel);

        Assert.Contains("tessera_mcp_messages_total{tool=\"issues\",mcp_method=\"tools/call\",outcome=\"forwarded\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("tessera_mcp_messages_total{tool=\"issues\",mcp_method=\"tools/call\",outcome=\"refused\"}", metrics, StringComparison.Ordinal);
    }

    private static string? JsonRpcMethod(ReceivedRequest request)
    {
        if (request.Method != "POST")
        {
            return null;
        }

        using var document = JsonDocument.Parse(request.Body);
        return document.RootElement.TryGetProperty("method", out var method) ? method.GetString() : null;
    }

    /// <summary>The first request matching <paramref name="match"/>, awaited arrival by arrival (no sleeping).</summary>
    private static async Task<ReceivedRequest> WaitForAsync(McpTestServer upstream, Func<ReceivedRequest, bool> match)
    {
        for (var n = 1; ; n++)
        {
            var request = await upstream.ArrivalAsync(n).WaitAsync(TimeSpan.FromSeconds(15), Cancel);
            if (match(request))
            {
                return request;
            }
        }
    }
}
