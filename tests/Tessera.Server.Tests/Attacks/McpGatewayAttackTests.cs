using Tessera.Core.Proxy;
using Tessera.Server.Tests.Mcp;

namespace Tessera.Server.Tests.Attacks;

/// <summary>
/// Hostile requests at an MCP tool behind <c>/proxy/issues</c> (docs/mcp.md, "What Tessera checks"),
/// sent raw so no client library tidies them. Each is refused with its documented status (never a
/// 5xx), the upstream (a real MCP server, <see cref="McpTestServer"/>) sees nothing of it, and the
/// refusal is on record as <c>proxy.denied</c> with the message's method and name where it could be read.
/// </summary>
public sealed class McpGatewayAttackTests : IAsyncLifetime
{
    private const string GetIssue = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_issue","arguments":{"number":7}}}""";
    private const string DeleteRepo = """{"jsonrpc":"2.0","id":"call-42","method":"tools/call","params":{"name":"delete_repo","arguments":{"repo":"widgets"}}}""";

    private McpBroker _mcp = null!;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _mcp = await McpBroker.StartAsync();

    public async ValueTask DisposeAsync() => await _mcp.DisposeAsync();

    [Fact]
    public async Task A_call_of_a_tool_no_scope_of_the_token_allows_is_403_insufficient_scope_with_a_json_rpc_error()
    {
        var token = await _mcp.TokenAsync();

        var response = await _mcp.PostAsync(token, DeleteRepo, "Mcp-Method: tools/call", "Mcp-Name: delete_repo");

        Assert.Equal(403, response.Status);
        Assert.Equal("Bearer realm=\"tessera\", error=\"insufficient_scope\", scope=\"issues:admin\"", response.Headers["WWW-Authenticate"]);
        Assert.StartsWith("application/json", response.ContentType, StringComparison.Ordinal);
        using var body = JsonDocument.Parse(response.Body);
        Assert.Equal("2.0", body.RootElement.GetProperty("jsonrpc").GetString());
        Assert.Equal("call-42", body.RootElement.GetProperty("id").GetString());
        Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        await AssertNothingForwardedAsync(403, RefusalCodes.McpNotAllowed, "tools/call", "delete_repo");
    }

    [Fact]
    public async Task A_numeric_id_is_answered_as_the_same_number()
    {
        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), DeleteRepo.Replace("\"call-42\"", "42", StringComparison.Ordinal), "Mcp-Method: tools/call", "Mcp-Name: delete_repo");

        Assert.Equal(403, response.Status);
        using var body = JsonDocument.Parse(response.Body);
        Assert.Equal(42, body.RootElement.GetProperty("id").GetInt32());
        await AssertNothingForwardedAsync(403, RefusalCodes.McpNotAllowed, "tools/call", "delete_repo");
    }

    [Fact]
    public async Task An_mcp_name_header_naming_an_allowed_tool_over_a_body_calling_another_is_400_header_mismatch()
    {
        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), DeleteRepo, "Mcp-Method: tools/call", "Mcp-Name: get_issue");

        Assert.Equal(400, response.Status);
        Assert.Equal(-32020, ErrorCode(response));
        await AssertNothingForwardedAsync(400, RefusalCodes.McpHeaderMismatch, "tools/call", "delete_repo");
    }

    [Theory]
    [InlineData("Mcp-Method: tools/list")]
    [InlineData("Mcp-Method: ping")]
    [InlineData("Mcp-Method: TOOLS/CALL")]
    [InlineData("Mcp-Method: =?base64?dG9vbHMvbGlzdA==?=")]
    public async Task An_mcp_method_header_other_than_the_bodys_method_is_400_header_mismatch(string header)
    {
        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), GetIssue, header, "Mcp-Name: get_issue");

        Assert.Equal(400, response.Status);
        Assert.Equal(-32020, ErrorCode(response));
        await AssertNothingForwardedAsync(400, RefusalCodes.McpHeaderMismatch, "tools/call", "get_issue");
    }

    [Fact]
    public async Task Two_mcp_name_headers_are_400_header_mismatch_even_when_one_is_right()
    {
        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), GetIssue, "Mcp-Method: tools/call", "Mcp-Name: get_issue", "Mcp-Name: delete_repo");

        Assert.Equal(400, response.Status);
        Assert.Equal(-32020, ErrorCode(response));
        await AssertNothingForwardedAsync(400, RefusalCodes.McpHeaderMismatch, "tools/call", "get_issue");
    }

    [Theory]
    [InlineData("[" + GetIssue + "]")]
    [InlineData("[" + GetIssue + "," + DeleteRepo + "]")]
    [InlineData("[]")]
    public async Task A_json_rpc_batch_is_400(string body)
    {
        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), body, "Mcp-Method: tools/call");

        Assert.Equal(400, response.Status);
        Assert.Equal(-32600, ErrorCode(response));
        await AssertNothingForwardedAsync(400, RefusalCodes.McpBatch, null, null);
    }

    [Fact]
    public async Task A_body_over_one_mebibyte_is_413()
    {
        var padding = new string('a', (1024 * 1024) + 16);
        var body = GetIssue.Replace("\"number\":7", $"\"number\":7,\"pad\":\"{padding}\"", StringComparison.Ordinal);

        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), body, "Mcp-Method: tools/call", "Mcp-Name: get_issue");

        Assert.Equal(413, response.Status);
        await AssertNothingForwardedAsync(413, RefusalCodes.ProxyBodyTooLarge, null, null);
    }

    [Fact]
    public async Task A_body_over_one_mebibyte_sent_chunked_is_413()
    {
        var padding = new string('a', (1024 * 1024) + 16);
        var body = Encoding.UTF8.GetBytes(GetIssue.Replace("\"number\":7", $"\"number\":7,\"pad\":\"{padding}\"", StringComparison.Ordinal));

        var response = await RawHttp.SendAsync(_mcp.Broker.Address!, "POST", "/proxy/issues",
        [
            $"Authorization: Bearer {await _mcp.TokenAsync()}", "Content-Type: application/json", "Accept: application/json, text/event-stream",
            "Mcp-Method: tools/call", "Mcp-Name: get_issue", "Transfer-Encoding: chunked",
        ], RawHttp.Chunked(body, 64 * 1024));

        Assert.Equal(413, response.Status);
        await AssertNothingForwardedAsync(413, RefusalCodes.ProxyBodyTooLarge, null, null);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_issue","name":"delete_repo"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_issue","n\u0061me":"delete_repo"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"tools/list","params":{"name":"get_issue"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_issue"},"params":{"name":"delete_repo"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_issue","arguments":{"n":1,"n":2}}}""")]
    public async Task A_member_name_twice_in_one_object_is_400(string body)
    {
        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), body, "Mcp-Method: tools/call", "Mcp-Name: get_issue");

        Assert.Equal(400, response.Status);
        Assert.Equal(-32700, ErrorCode(response));
        await AssertNothingForwardedAsync(400, RefusalCodes.McpDuplicateMember, null, null);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_issue","Name":"delete_repo","arguments":{"repo":"widgets"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_issue","NAME":"delete_repo","arguments":{"repo":"widgets"}}}""")]
    public async Task A_member_name_twice_in_another_case_is_400(string body)
    {
        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), body, "Mcp-Method: tools/call", "Mcp-Name: get_issue");

        Assert.Equal(400, response.Status);
        await AssertNothingForwardedAsync(400, RefusalCodes.McpDuplicateMember, null, null);
    }

    [Fact]
    public async Task Arguments_nested_ten_thousand_deep_are_400()
    {
        var body = GetIssue.Replace("\"number\":7", "\"number\":7,\"deep\":" + new string('[', 10_000) + new string(']', 10_000), StringComparison.Ordinal);

        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), body, "Mcp-Method: tools/call", "Mcp-Name: get_issue");

        Assert.Equal(400, response.Status);
        Assert.Equal(-32700, ErrorCode(response));
        await AssertNothingForwardedAsync(400, RefusalCodes.McpInvalidJson, null, null);
    }

    [Fact]
    public async Task A_huge_tool_name_within_the_body_limit_is_400()
    {
        var name = new string('g', 900 * 1024);
        var body = GetIssue.Replace("\"get_issue\"", $"\"{name}\"", StringComparison.Ordinal);

        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), body, "Mcp-Method: tools/call");

        Assert.Equal(400, response.Status);
        Assert.Equal(-32602, ErrorCode(response));
        await AssertNothingForwardedAsync(400, RefusalCodes.McpParamsInvalid, null, null);
    }

    [Fact]
    public async Task A_huge_argument_within_the_body_limit_does_not_carry_a_forbidden_call_through()
    {
        var body = DeleteRepo.Replace("\"widgets\"", $"\"{new string('w', 900 * 1024)}\"", StringComparison.Ordinal);

        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), body, "Mcp-Method: tools/call", "Mcp-Name: delete_repo");

        Assert.Equal(403, response.Status);
        await AssertNothingForwardedAsync(403, RefusalCodes.McpNotAllowed, "tools/call", "delete_repo");
    }

    [Theory]
    [InlineData("name")]
    [InlineData("arguments")]
    [InlineData("method")]
    public async Task Invalid_utf8_anywhere_in_the_body_is_400(string where)
    {
        var text = where switch
        {
            "name" => GetIssue.Replace("get_issue", "get_issue\u0001", StringComparison.Ordinal),
            "arguments" => GetIssue.Replace("\"number\":7", "\"number\":7,\"x\":\"\u0001\"", StringComparison.Ordinal),
            _ => GetIssue.Replace("tools/call", "tools/call\u0001", StringComparison.Ordinal),
        };
        var bytes = Encoding.UTF8.GetBytes(text);
        var at = Array.IndexOf(bytes, (byte)1);
        byte[] body = [.. bytes[..at], 0xC3, 0x28, .. bytes[(at + 1)..]];

        var response = await _mcp.PostBytesAsync(await _mcp.TokenAsync(), body, ["Mcp-Method: tools/call", "Mcp-Name: get_issue"]);

        Assert.Equal(400, response.Status);
        await AssertNothingForwardedAsync(400, RefusalCodes.McpInvalidJson, null, null);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_issue\ud800","arguments":{"number":7}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\udc00get_issue","arguments":{"number":7}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call\ud800","params":{"name":"get_issue","arguments":{"number":7}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"repo://acme/widgets/\ud800"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_issue","arguments":{"\ud800":7}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_issue","arguments":{"\ud800":7,"\udc00":8}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":"\ud800","method":"tools/call","params":{"name":"get_issue\ud800"}}""")]
    public async Task An_escaped_lone_surrogate_in_a_name_the_rules_read_is_400(string body)
    {
        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), body);

        Assert.Equal(400, response.Status);
        await AssertNothingForwardedAsync(400, RefusalCodes.McpInvalidJson, null, null);
    }

    /// <summary>URIs under the read rule's <c>repo://acme/widgets/**</c> as text that a server resolving dot segments or decoding before it splits reads outside it.</summary>
    public static TheoryData<string> AmbiguousUris() => new()
    {
        "repo://acme/widgets/../secret/keys",
        "repo://acme/widgets/./../secret/keys",
        "repo://acme/widgets/..",
        "repo://acme/widgets/%2e%2e/secret/keys",
        "repo://acme/widgets/%2E%2E/secret/keys",
        "repo://acme/widgets/.%2e/secret/keys",
        "repo://acme/widgets/..%2fsecret%2fkeys",
        "repo://acme/widgets/..%2Fsecret/keys",
        "repo://acme/widgets/..\\secret\\keys",
        "repo://acme/widgets/..%5csecret/keys",
        "repo://acme/widgets/%252e%252e/secret/keys",
    };

    [Theory]
    [MemberData(nameof(AmbiguousUris))]
    public async Task A_resource_uri_with_dot_segments_or_encoded_separators_is_400(string uri)
    {
        var body = JsonSerializer.Serialize(new { jsonrpc = "2.0", id = 3, method = "resources/read", @params = new { uri } });

        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), body, "Mcp-Method: resources/read");

        Assert.Equal(400, response.Status);
        Assert.Equal(-32602, ErrorCode(response));
        await AssertNothingForwardedAsync(400, RefusalCodes.McpAmbiguousUri, "resources/read", uri);
    }

    [Fact]
    public async Task A_token_revoked_mid_session_is_401_on_its_next_message_and_nothing_more_is_forwarded()
    {
        var token = await _mcp.TokenAsync();
        await using var agent = await McpTestClient.ConnectAsync(_mcp.Endpoint, token, Cancel, McpTestClient.StatelessProtocol);
        await agent.CallToolAsync("get_issue", new Dictionary<string, object?> { ["number"] = 7 }, cancellationToken: Cancel);
        var before = _mcp.Upstream.Received.Count;
        using (var revoke = await _mcp.Broker.PostFormAsync("/oauth/revoke", [new("token", token)], TestBroker.Basic("support-agent", TestBroker.SupportSecret)))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() =>
            agent.CallToolAsync("get_issue", new Dictionary<string, object?> { ["number"] = 8 }, cancellationToken: Cancel).AsTask());

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(before, _mcp.Upstream.Received.Count);
        var denied = (await _mcp.Broker.AuditEventsAsync()).Last(e => e.Record.Type == AuditTypes.ProxyDenied);
        Assert.Equal(401, denied.Record.Status);
        Assert.Contains("revoked", denied.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_revoked_through_the_admin_api_mid_session_is_401_and_its_session_goes_no_further()
    {
        var token = await _mcp.TokenAsync();
        await using var agent = await McpTestClient.ConnectAsync(_mcp.Endpoint, token, Cancel, McpTestClient.SessionProtocol);
        await agent.CallToolAsync("get_issue", new Dictionary<string, object?> { ["number"] = 7 }, cancellationToken: Cancel);
        var posts = _mcp.Upstream.ReceivedMethods().Count;
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/revocations")
        {
            Content = new StringContent($$"""{"kind":"token","token":"{{token}}"}""", Encoding.UTF8, "application/json"),
        })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _mcp.Broker.AdminToken);
            using var revoke = await _mcp.Broker.Client.SendAsync(request, Cancel);
            Assert.True(revoke.IsSuccessStatusCode, await revoke.Content.ReadAsStringAsync(Cancel));
        }

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() =>
            agent.CallToolAsync("search_issues", new Dictionary<string, object?> { ["query"] = "x" }, cancellationToken: Cancel).AsTask());

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(posts, _mcp.Upstream.ReceivedMethods().Count);
        var denied = (await _mcp.Broker.AuditEventsAsync()).Last(e => e.Record.Type == AuditTypes.ProxyDenied);
        Assert.Equal(401, denied.Record.Status);
    }

    [Fact]
    public async Task A_token_for_another_tool_is_403()
    {
        var response = await _mcp.PostAsync(await _mcp.TokenAsync("crm:read"), GetIssue, "Mcp-Method: tools/call", "Mcp-Name: get_issue");

        Assert.Equal(403, response.Status);
        var denied = await AssertNothingForwardedAsync(403, RefusalCodes.ProxyWrongAudience, null, null);
        Assert.Equal("the token is not for tool 'issues'", denied.Record.Reason);
    }

    [Fact]
    public async Task A_mission_token_is_403()
    {
        var token = _mcp.Proxy.SignToken(c => c with { Mission = "m_1", ActorChain = ["support-agent"], Subject = "alice" }, scope: "issues:read", audience: TestBroker.Issuer);

        var response = await _mcp.PostAsync(token, GetIssue, "Mcp-Method: tools/call", "Mcp-Name: get_issue");

        Assert.Equal(403, response.Status);
        var denied = await AssertNothingForwardedAsync(403, RefusalCodes.ProxyMissionToken, null, null);
        Assert.Equal(ProxyAuthorizer.MissionTokenRefused, denied.Record.Reason);
        Assert.Equal("m_1", denied.Record.Mission);
    }

    [Theory]
    [InlineData("/proxy/issues/extra", 404)]
    [InlineData("/proxy/issues/mcp", 404)]
    [InlineData("/proxy/issues/..", 404)]
    [InlineData("/proxy/issues?x=1", 400)]
    [InlineData("/proxy/issues/?x=1", 400)]
    [InlineData("/proxy/issues?", 400)]
    public async Task A_path_under_the_tool_or_a_query_string_is_refused(string target, int status)
    {
        var response = await _mcp.PostBytesAsync(await _mcp.TokenAsync(), Encoding.UTF8.GetBytes(GetIssue), ["Mcp-Method: tools/call", "Mcp-Name: get_issue"], target);

        Assert.Equal(status, response.Status);
        await AssertNothingForwardedAsync(status, status == 404 ? RefusalCodes.McpWrongEndpoint : RefusalCodes.McpQueryNotAllowed, null, null);
    }

    [Theory]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    [InlineData("OPTIONS")]
    [InlineData("HEAD")]
    public async Task Any_http_method_but_post_get_and_delete_is_405(string method)
    {
        var body = Encoding.UTF8.GetBytes(GetIssue);
        var response = await RawHttp.SendAsync(_mcp.Broker.Address!, method, "/proxy/issues",
        [
            $"Authorization: Bearer {await _mcp.TokenAsync()}", "Content-Type: application/json", $"Content-Length: {(method == "HEAD" ? 0 : body.Length)}",
            "Mcp-Method: tools/call", "Mcp-Name: get_issue",
        ], method == "HEAD" ? null : body);

        Assert.Equal(405, response.Status);
        await AssertNothingForwardedAsync(405, RefusalCodes.McpHttpMethodNotAllowed, null, null);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("br")]
    [InlineData("deflate")]
    [InlineData("identity, gzip")]
    public async Task A_message_with_a_content_encoding_is_415(string coding)
    {
        // The bytes read are the bytes forwarded: a server that decodes them would read another message.
        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), GetIssue, "Mcp-Method: tools/call", "Mcp-Name: get_issue", $"Content-Encoding: {coding}");

        Assert.Equal(415, response.Status);
        await AssertNothingForwardedAsync(415, RefusalCodes.McpNotJsonContentType, null, null);
    }

    [Fact]
    public async Task A_message_marked_identity_is_forwarded()
    {
        var response = await _mcp.PostAsync(await _mcp.TokenAsync(), GetIssue, "Mcp-Method: tools/call", "Mcp-Name: get_issue", "Content-Encoding: identity");

        Assert.NotEqual(415, response.Status);
        Assert.Single(_mcp.Upstream.Received);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/json; charset=iso-8859-1")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/jsonx")]
    [InlineData("multipart/form-data; boundary=x")]
    public async Task A_body_not_sent_as_application_json_in_utf8_is_415(string contentType)
    {
        var response = await _mcp.PostBytesAsync(await _mcp.TokenAsync(), Encoding.UTF8.GetBytes(GetIssue), ["Mcp-Method: tools/call", "Mcp-Name: get_issue"], contentType: contentType);

        Assert.Equal(415, response.Status);
        await AssertNothingForwardedAsync(415, RefusalCodes.McpNotJsonContentType, null, null);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json;charset=\"UTF-8\"")]
    [InlineData("Application/JSON")]
    public async Task A_body_sent_as_application_json_in_utf8_is_forwarded(string contentType)
    {
        var response = await _mcp.PostBytesAsync(await _mcp.TokenAsync(), Encoding.UTF8.GetBytes(GetIssue), ["Mcp-Method: tools/call", "Mcp-Name: get_issue"], contentType: contentType);

        Assert.NotEqual(415, response.Status);
        Assert.Single(_mcp.Upstream.Received);
    }

    [Fact]
    public async Task A_post_without_a_token_is_401_with_the_resource_metadata_and_nothing_forwarded()
    {
        var response = await _mcp.PostAsync(null, GetIssue, "Mcp-Method: tools/call", "Mcp-Name: get_issue");

        Assert.Equal(401, response.Status);
        Assert.Contains("resource_metadata=\"http://tessera.test/.well-known/oauth-protected-resource/proxy/issues\"", response.Headers["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.Empty(_mcp.Upstream.Received);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task A_get_stream_or_delete_without_a_valid_token_is_401(string method)
    {
        var response = await RawHttp.SendAsync(_mcp.Broker.Address!, method, "/proxy/issues",
            ["Authorization: Bearer not-a-token", "Accept: text/event-stream", "Mcp-Session-Id: abc"]);

        Assert.Equal(401, response.Status);
        await AssertNothingForwardedAsync(401, RefusalCodes.ProxyTokenMalformed, null, null, tool: null);
    }

    [Theory]
    [InlineData(McpResponseMode.Sse)]
    [InlineData(McpResponseMode.Json)]
    public async Task An_agent_accepting_gzip_still_gets_the_filtered_list(McpResponseMode mode)
    {
        await using var mcp = await McpBroker.StartAsync(new() { ResponseMode = mode, Compression = McpCompression.WhenAccepted });

        var (status, body) = await ListToolsAcceptingGzipAsync(mcp);

        Assert.Equal(200, status);
        Assert.Contains("\"get_issue\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("delete_repo", body, StringComparison.Ordinal);
        Assert.DoesNotContain("create_issue", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(McpResponseMode.Sse)]
    [InlineData(McpResponseMode.Json)]
    public async Task A_list_answer_compressed_unasked_is_never_passed_on_unfiltered(McpResponseMode mode)
    {
        await using var mcp = await McpBroker.StartAsync(new() { ResponseMode = mode, Compression = McpCompression.Always });

        var (status, body) = await ListToolsAcceptingGzipAsync(mcp);

        Assert.True(status == 502, $"{status}: {body}");
        Assert.DoesNotContain("delete_repo", body, StringComparison.Ordinal);
        Assert.DoesNotContain("get_issue", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(McpTestClient.SessionProtocol)]
    [InlineData(McpTestClient.StatelessProtocol)]
    public async Task An_upstreams_own_challenge_never_steers_the_agent_to_its_authorization_server(string protocol)
    {
        // The upstream refuses the vault's credential and names its own authorization server: an MCP
        // client follows resource_metadata by itself (RFC 9728) and would take its user there.
        const string challenge = "Bearer resource_metadata=\"https://upstream.example/.well-known/oauth-protected-resource/mcp\", scope=\"repo:admin\"";
        await using var mcp = await McpBroker.StartAsync(new() { RequiredAuthorization = "Bearer rotated-elsewhere", Challenge = challenge });
        var seen = new List<string>();
        var token = await mcp.TokenAsync();

        var failure = await Assert.ThrowsAsync<HttpRequestException>(() => McpTestClient.ConnectAsync(mcp.Endpoint, token, Cancel, protocol,
            response => seen.AddRange(response.Headers.WwwAuthenticate.Select(h => h.ToString()))));

        Assert.Equal(HttpStatusCode.Unauthorized, failure.StatusCode);
        Assert.Equal(McpTestServer.Credential, Assert.Single(mcp.Upstream.Received).Headers["Authorization"]);
        Assert.DoesNotContain(seen, c => c.Contains("upstream.example", StringComparison.Ordinal) || c.Contains("repo:admin", StringComparison.Ordinal));
    }

    /// <summary>A 2026-07-28 tools/list from a client that accepts gzip and decompresses what it gets.</summary>
    private static async Task<(int Status, string Body)> ListToolsAcceptingGzipAsync(McpBroker mcp)
    {
        using var client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.All });
        using var request = new HttpRequestMessage(HttpMethod.Post, mcp.Endpoint)
        {
            Content = new StringContent(
                """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"x","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}""",
                new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await mcp.TokenAsync());
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        request.Headers.Add("Mcp-Method", "tools/list");
        request.Headers.Add("MCP-Protocol-Version", McpTestClient.StatelessProtocol);
        using var response = await client.SendAsync(request, Cancel);
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(Cancel);
        }
        catch (HttpRequestException)
        {
            // The stream was cut off: what arrived is not an answer.
            body = "(cut off)";
        }

        return ((int)response.StatusCode, body);
    }

    [Theory]
    [InlineData("GET", false)]
    [InlineData("DELETE", false)]
    [InlineData("GET", true)]
    [InlineData("DELETE", true)]
    public async Task A_get_or_delete_carrying_a_message_is_400(string method, bool chunked)
    {
        // A GET (the server's stream) or DELETE (the session's end) needs no rule: a message in its
        // body would reach the server unread by any rule.
        var body = Encoding.UTF8.GetBytes(DeleteRepo);
        var response = await RawHttp.SendAsync(_mcp.Broker.Address!, method, "/proxy/issues",
        [
            $"Authorization: Bearer {await _mcp.TokenAsync()}", "Accept: text/event-stream", "Content-Type: application/json", "Mcp-Session-Id: abc",
            chunked ? "Transfer-Encoding: chunked" : $"Content-Length: {body.Length}",
        ], chunked ? RawHttp.Chunked(body, 16) : body);

        Assert.Equal(400, response.Status);
        await AssertNothingForwardedAsync(400, RefusalCodes.McpBodyNotAllowed, null, null);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task A_get_or_delete_with_an_empty_body_is_forwarded(string method)
    {
        var response = await RawHttp.SendAsync(_mcp.Broker.Address!, method, "/proxy/issues",
            [$"Authorization: Bearer {await _mcp.TokenAsync()}", "Accept: text/event-stream", "Content-Length: 0"]);

        Assert.InRange(response.Status, 200, 499);
        var received = Assert.Single(_mcp.Upstream.Received);
        Assert.Equal(method, received.Method);
        Assert.Empty(received.Body);
    }

    private const string ListTools = """{"jsonrpc":"2.0","id":2,"method":"tools/list"}""";

    /// <summary>Opens a session as support-agent (a raw initialize) and returns the Mcp-Session-Id it was handed.</summary>
    private async Task<string> OpenSessionAsync()
    {
        var response = await _mcp.PostAsync(await _mcp.TokenAsync(),
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"PROTOCOL","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""".Replace("PROTOCOL", McpTestClient.SessionProtocol, StringComparison.Ordinal),
            "Mcp-Method: initialize");
        Assert.Equal(200, response.Status);
        var session = response.Headers["Mcp-Session-Id"];
        Assert.Single(_mcp.Upstream.Received);
        while (_mcp.Upstream.Received.TryDequeue(out _))
        {
        }

        var events = await _mcp.Broker.AuditEventsAsync();
        Assert.DoesNotContain(events, e => e.Record.Type == AuditTypes.ProxyDenied);
        return session;
    }

    private Task<RawResponse> ListInSessionAsync(string token, string session) =>
        _mcp.PostAsync(token, ListTools, "Mcp-Method: tools/list", $"Mcp-Session-Id: {session}", $"MCP-Protocol-Version: {McpTestClient.SessionProtocol}");

    private async Task AssertSessionRefusedAsync(RawResponse response)
    {
        Assert.Equal(404, response.Status);
        Assert.Empty(_mcp.Upstream.Received);
        var events = await _mcp.Broker.AuditEventsAsync();
        var denied = Assert.Single(events, e => e.Record.Type == AuditTypes.ProxyDenied);
        Assert.Equal(RefusalCodes.McpSessionNotYours, denied.Record.ReasonCode);
        Assert.Equal(404, denied.Record.Status);
        Assert.Single(events, e => e.Record.Type == AuditTypes.ProxyForwarded);
    }

    [Fact]
    public async Task Another_agents_token_with_a_session_id_handed_to_support_agent_is_404_and_nothing_reaches_the_server()
    {
        var session = await OpenSessionAsync();
        var other = _mcp.SignToken(c => c with { ClientId = McpBroker.OtherAgent, Subject = McpBroker.OtherAgent });

        await AssertSessionRefusedAsync(await ListInSessionAsync(other, session));
    }

    [Fact]
    public async Task The_same_agent_acting_for_a_principal_cannot_use_its_own_sessions_id_and_is_404()
    {
        var session = await OpenSessionAsync();
        var delegated = _mcp.SignToken(c => c with { Subject = "alice@corp.example", ActorChain = ["support-agent"] });

        await AssertSessionRefusedAsync(await ListInSessionAsync(delegated, session));
    }

    [Theory]
    [InlineData("server")]
    [InlineData("truncated")]
    [InlineData("two")]
    public async Task The_servers_own_session_id_a_truncated_tag_or_two_session_headers_are_404(string form)
    {
        var session = await OpenSessionAsync();
        var serverId = session[..session.LastIndexOf('.')];
        var token = await _mcp.TokenAsync();

        var response = form == "two"
            ? await _mcp.PostAsync(token, ListTools, "Mcp-Method: tools/list", $"Mcp-Session-Id: {session}", $"Mcp-Session-Id: {session}")
            : await ListInSessionAsync(token, form == "server" ? serverId : session[..^1]);

        await AssertSessionRefusedAsync(response);
    }

    [Fact]
    public async Task The_agent_that_opened_the_session_uses_it_and_the_server_sees_its_own_id()
    {
        var session = await OpenSessionAsync();

        var response = await ListInSessionAsync(await _mcp.TokenAsync(), session);

        Assert.Equal(200, response.Status);
        var received = Assert.Single(_mcp.Upstream.Received);
        Assert.Equal(session[..session.LastIndexOf('.')], received.Headers["Mcp-Session-Id"]);
    }

    private static int ErrorCode(RawResponse response)
    {
        Assert.StartsWith("application/json", response.ContentType, StringComparison.Ordinal);
        using var body = JsonDocument.Parse(response.Body);
        return body.RootElement.GetProperty("error").GetProperty("code").GetInt32();
    }

    /// <summary>The upstream saw nothing, and exactly one refusal is on record with this status, its reason code and, where known, the message's method and name.</summary>
    private async Task<AuditEvent> AssertNothingForwardedAsync(int status, string code, string? mcpMethod, string? mcpName, string? tool = McpBroker.ToolId)
    {
        Assert.Empty(_mcp.Upstream.Received);
        var events = await _mcp.Broker.AuditEventsAsync();
        Assert.DoesNotContain(events, e => e.Record.Type == AuditTypes.ProxyForwarded);
        var denied = Assert.Single(events, e => e.Record.Type == AuditTypes.ProxyDenied);
        Assert.Equal(AuditOutcomes.Denied, denied.Record.Outcome);
        Assert.Equal(status, denied.Record.Status);
        Assert.Equal(code, denied.Record.ReasonCode);
        Assert.Equal(tool, denied.Record.Tool);
        Assert.Equal(mcpMethod, denied.Record.McpMethod);
        Assert.Equal(mcpName, denied.Record.McpName);
        return denied;
    }
}
