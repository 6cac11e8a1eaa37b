namespace Tessera.Core.Tests.Mcp;

public sealed class McpMessageTests
{
    /// <summary>Text that would be a leak if any refusal quoted the body.</summary>
    private const string Marker = "SECRET-MARKER-4711";

    [Fact]
    public void A_request_has_its_method_id_and_no_target_when_the_method_names_none()
    {
        var message = Parse("""{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"c1"}}""");

        Assert.Equal(McpMessageKind.Request, message.Kind);
        Assert.Equal("tools/list", message.Method);
        Assert.Equal("1", message.Id);
        Assert.Null(message.Target);
        Assert.Null(message.Arguments);
        Assert.False(message.IsLifecycle);
    }

    [Theory]
    [InlineData("\"a1\"", "\"a1\"")]
    [InlineData("7", "7")]
    [InlineData("-3", "-3")]
    [InlineData("\"\"", "\"\"")]
    public void An_id_is_kept_as_it_was_written_whether_string_or_number(string id, string expected) =>
        Assert.Equal(expected, Parse($$"""{"jsonrpc":"2.0","id":{{id}},"method":"ping"}""").Id);

    [Theory]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("{}")]
    [InlineData("[1]")]
    public void An_id_that_is_null_or_not_a_string_or_number_is_refused(string id) =>
        AssertRefused($$"""{"jsonrpc":"2.0","id":{{id}},"method":"ping"}""", RefusalCodes.McpNotJsonRpc);

    [Fact]
    public void An_id_longer_than_256_characters_is_refused() =>
        AssertRefused($$"""{"jsonrpc":"2.0","id":"{{new string('i', 255)}}","method":"ping"}""", RefusalCodes.McpNotJsonRpc);

    [Fact]
    public void A_message_without_an_id_is_a_notification()
    {
        var message = Parse("""{"jsonrpc":"2.0","method":"notifications/initialized"}""");

        Assert.Equal(McpMessageKind.Notification, message.Kind);
        Assert.Null(message.Id);
        Assert.True(message.IsLifecycle);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":"s1","result":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":5,"error":{"code":-1,"message":"no"}}""")]
    public void A_message_with_an_id_and_a_result_or_an_error_is_a_response_needing_no_rule(string json)
    {
        var message = Parse(json);

        Assert.Equal(McpMessageKind.Response, message.Kind);
        Assert.Null(message.Method);
        Assert.Null(message.Target);
        Assert.True(message.IsLifecycle);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","result":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}""")]
    public void A_message_without_a_method_that_is_not_a_response_is_refused(string json) =>
        AssertRefused(json, RefusalCodes.McpNotJsonRpc);

    [Theory]
    [InlineData("initialize", true)]
    [InlineData("ping", true)]
    [InlineData("notifications/cancelled", true)]
    [InlineData("tools/list", false)]
    [InlineData("completion/complete", false)]
    [InlineData("Ping", false)]
    public void Only_initialize_ping_and_notifications_are_lifecycle_requests(string method, bool lifecycle) =>
        Assert.Equal(lifecycle, Parse($$"""{"jsonrpc":"2.0","id":1,"method":"{{method}}"}""").IsLifecycle);

    [Theory]
    [InlineData("tools/call", "name", "search_issues")]
    [InlineData("prompts/get", "name", "summarize")]
    [InlineData("resources/read", "uri", "repo://acme/widgets/readme.md")]
    [InlineData("resources/subscribe", "uri", "repo://acme/widgets/readme.md")]
    [InlineData("resources/unsubscribe", "uri", "repo://acme/widgets/readme.md")]
    public void The_target_is_params_name_or_params_uri_by_method(string method, string member, string target)
    {
        var message = Parse($$$"""{"jsonrpc":"2.0","id":1,"method":"{{{method}}}","params":{"{{{member}}}":"{{{target}}}"}}""");

        Assert.Equal(target, message.Target);
    }

    [Fact]
    public void A_resource_read_is_matched_on_its_uri_not_on_a_name_beside_it() =>
        Assert.Equal("repo://x", Parse("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"name":"other","uri":"repo://x"}}""").Target);

    [Fact]
    public void An_escaped_target_is_read_unescaped() =>
        Assert.Equal("search_issues", Parse("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\u0061me":"search\u005fissues"}}""").Target);

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":null}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":["a"]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":""}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"Name":"search"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"name":"repo://x"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"uri":"x"}}""")]
    public void A_method_with_a_target_without_it_as_a_string_is_refused(string json) =>
        AssertRefused(json, RefusalCodes.McpParamsInvalid);

    [Fact]
    public void A_target_longer_than_the_longest_matched_is_refused()
    {
        Assert.NotNull(McpMessage.Parse(Call(new string('n', McpMessage.MaxTargetLength)), false, out _));
        AssertRefused(Call(new string('n', McpMessage.MaxTargetLength + 1)), RefusalCodes.McpParamsInvalid);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"x\"")]
    [InlineData("7")]
    [InlineData("null")]
    public void Params_that_are_not_an_object_are_refused(string parameters) =>
        AssertRefused($$$"""{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{{parameters}}}}""", RefusalCodes.McpParamsInvalid);

    [Theory]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"method":"ping"}]""")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x"}}]""")]
    [InlineData("[]")]
    public void A_batch_is_refused(string json) => AssertRefused(json, RefusalCodes.McpBatch);

    [Theory]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("true")]
    public void A_body_that_is_not_an_object_is_refused(string json) => AssertRefused(json, RefusalCodes.McpNotJsonRpc);

    [Theory]
    [InlineData("""{"id":1,"method":"ping"}""")]
    [InlineData("""{"jsonrpc":"1.0","id":1,"method":"ping"}""")]
    [InlineData("""{"jsonrpc":2.0,"id":1,"method":"ping"}""")]
    [InlineData("""{"jsonrpc":"2.0 ","id":1,"method":"ping"}""")]
    [InlineData("""{"jsonrpc":null,"id":1,"method":"ping"}""")]
    public void A_body_without_jsonrpc_2_0_is_refused(string json) => AssertRefused(json, RefusalCodes.McpNotJsonRpc);

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":7}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":""}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":null}""")]
    public void A_method_that_is_not_a_non_empty_string_is_refused(string json) => AssertRefused(json, RefusalCodes.McpNotJsonRpc);

    [Fact]
    public void A_method_longer_than_the_longest_accepted_is_refused() =>
        AssertRefused($$"""{"jsonrpc":"2.0","id":1,"method":"{{new string('m', McpMethods.MaxMethodLength + 1)}}"}""", RefusalCodes.McpNotJsonRpc);

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"ping","params":{"name":"x"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","name":"delete_repo"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"},"params":{"name":"y"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":{"b":[{"c":1,"c":2}]}}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","n\u0061me":"delete_repo"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"k":1,"k":1}}}""")]
    public void A_member_name_twice_in_one_object_anywhere_is_refused(string json) =>
        AssertRefused(json, RefusalCodes.McpDuplicateMember);

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_code","Name":"delete_repo"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_code"},"Params":{"name":"delete_repo"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","METHOD":"ping","params":{"name":"x"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"repo://acme/docs/a","URI":"repo://acme/secrets/k"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":[{"path":"/tmp","Path":"/etc"}]}}}""")]
    public void Member_names_of_one_object_that_differ_only_in_case_are_refused(string json) =>
        // A server reading names case-insensitively (System.Text.Json with PropertyNameCaseInsensitive,
        // as MCP servers on .NET commonly are) takes the last of them: Tessera would decide on the first.
        AssertRefused(json, RefusalCodes.McpDuplicateMember);

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{},"Method":"tools/call","params":{"name":"delete_repo"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"},"METHOD":"tools/call","params":{"name":"delete_repo"}}""")]
    [InlineData("""{"jsonrpc":"2.0","ID":1,"method":"tools/list"}""")]
    [InlineData("""{"Jsonrpc":"2.0","id":1,"method":"ping"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","Params":{"name":"delete_repo"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","Result":{}}""")]
    public void A_member_Tessera_reads_written_in_another_case_is_refused(string json)
    {
        // A case-insensitive server reads "Method" as the method: Tessera, reading none, would take the
        // message for a response and let it through without a rule.
        Assert.Null(McpMessage.Parse(Encoding.UTF8.GetBytes(json), false, out var problem));
        Assert.Equal(RefusalCodes.McpNotJsonRpc, problem?.Code);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_code","Arguments":{"q":1}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"summarize","NAME2":1,"Arguments":{"q":1}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"Uri":"repo://acme/secrets","name":"x"}}""")]
    public void A_member_of_params_Tessera_reads_written_in_another_case_is_refused(string json)
    {
        Assert.Null(McpMessage.Parse(Encoding.UTF8.GetBytes(json), true, out var problem));
        Assert.Equal(RefusalCodes.McpParamsInvalid, problem?.Code);
    }

    [Fact]
    public void Names_that_differ_only_in_case_in_different_objects_are_fine() =>
        Assert.Equal("x", Parse("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"Name":"y","inner":[{"NAME":{"name":1}}]}}}""").Target);

    [Fact]
    public void The_same_member_name_in_different_objects_is_fine() =>
        Assert.Equal("x", Parse("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"name":"y","params":{"name":"z"}}}}""").Target);

    [Theory]
    [InlineData(new byte[] { 0xff })]
    [InlineData(new byte[] { 0xc3, 0x28 })]
    [InlineData(new byte[] { 0xed, 0xa0, 0x80 })]
    [InlineData(new byte[] { 0xe2, 0x82 })]
    public void Invalid_UTF_8_in_a_method_or_a_name_is_refused_as_invalid_JSON(byte[] invalid)
    {
        AssertRefused(Splice("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"search", invalid, "\"}}"), RefusalCodes.McpInvalidJson);
        AssertRefused(Splice("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list", invalid, "\"}"), RefusalCodes.McpInvalidJson);
    }

    [Theory]
    [InlineData(new byte[] { 0xff })]
    [InlineData(new byte[] { 0xc3, 0x28 })]
    [InlineData(new byte[] { 0xed, 0xa0, 0x80 })]
    public void Invalid_UTF_8_anywhere_in_the_body_is_refused_as_invalid_JSON(byte[] invalid)
    {
        // Tessera and the upstream must read the same text: a body one decoder repairs and another rejects is refused.
        AssertRefused(Splice("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"x\",\"arguments\":{\"q\":\"a", invalid, "\"}}}"), RefusalCodes.McpInvalidJson);
        AssertRefused(Splice("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"x\",\"arguments\":{\"q", invalid, "\":1}}}"), RefusalCodes.McpInvalidJson);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("")]
    [InlineData("{\"jsonrpc\":\"2.0\",}")]
    [InlineData("{\"jsonrpc\":\"2.0\"} {}")]
    [InlineData("{'jsonrpc':'2.0'}")]
    [InlineData("{\"jsonrpc\":\"2.0\" /* c */}")]
    public void A_body_that_is_not_JSON_is_refused(string body) => AssertRefused(body, RefusalCodes.McpInvalidJson);

    [Fact]
    public void Nesting_up_to_64_levels_is_read_and_deeper_is_refused()
    {
        // The message object is level 1, params 2, arguments 3: the rest are nested arrays.
        Assert.NotNull(McpMessage.Parse(Encoding.UTF8.GetBytes(Nested(McpMessage.MaxDepth - 3)), false, out var problem));
        Assert.Null(problem);

        AssertRefused(Nested(McpMessage.MaxDepth - 2), RefusalCodes.McpInvalidJson);
        AssertRefused(Nested(10_000), RefusalCodes.McpInvalidJson);
    }

    [Fact]
    public void Keeping_the_arguments_returns_a_copy_usable_after_the_parse()
    {
        var body = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{"q":"widgets","limit":5,"tags":["a","b"]}}}""");

        var message = McpMessage.Parse(body, keepArguments: true, out _)!;
        Array.Clear(body); // were the arguments still reading the body, they would now read zeros

        var arguments = Assert.IsType<JsonElement>(message.Arguments);
        Assert.Equal("widgets", arguments.GetProperty("q").GetString());
        Assert.Equal(5, arguments.GetProperty("limit").GetInt32());
        Assert.Equal("""{"q":"widgets","limit":5,"tags":["a","b"]}""", arguments.GetRawText());
    }

    [Fact]
    public void Arguments_are_kept_only_when_asked_for_and_only_for_a_tool_call()
    {
        Assert.Null(Parse("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"s","arguments":{"q":1}}}""").Arguments);
        Assert.Null(McpMessage.Parse(Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"s","arguments":{"q":1}}}"""), true, out _)!.Arguments);
        Assert.Null(McpMessage.Parse(Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"s"}}"""), true, out _)!.Arguments);
    }

    [Fact]
    public void A_huge_string_inside_the_limits_is_read()
    {
        var big = new string('x', 4 * 1024 * 1024);
        var message = McpMessage.Parse(Encoding.UTF8.GetBytes($$$$"""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"upload","arguments":{"blob":"{{{{big}}}}"}}}"""), true, out var problem);

        Assert.Null(problem);
        Assert.Equal("upload", message!.Target);
        Assert.Equal(big.Length, message.Arguments!.Value.GetProperty("blob").GetString()!.Length);
    }

    [Fact]
    public void A_byte_order_mark_before_the_message_is_refused_as_invalid_JSON() =>
        AssertRefused(Splice("", [0xef, 0xbb, 0xbf], """{"jsonrpc":"2.0","id":1,"method":"ping"}"""), RefusalCodes.McpInvalidJson);

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search\ud800"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\udc00search"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/list\ud800"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"repo://a/\ud83d"}}""")]
    public void An_escaped_lone_surrogate_in_a_method_or_a_target_is_refused_not_thrown(string json)
    {
        Assert.Null(McpMessage.Parse(Encoding.UTF8.GetBytes(json), false, out var problem));
        Assert.NotNull(problem);
    }

    [Fact]
    public void An_escaped_surrogate_pair_in_a_target_is_read_as_its_character() =>
        Assert.Equal("search_\U0001F600", Parse("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_\ud83d\ude00"}}""").Target);

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"M","name":"M"}}""")]
    [InlineData("""[{"jsonrpc":"2.0","id":"M","method":"M"}]""")]
    [InlineData("""{"jsonrpc":"M","id":1,"method":"ping"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":{"M":1}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"M"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"M","M":""")]
    [InlineData("""{"jsonrpc":"2.0","id":{"M":1},"method":"ping"}""")]
    public void A_refusal_never_quotes_the_body(string json)
    {
        var body = json.Replace("M", Marker, StringComparison.Ordinal);

        Assert.Null(McpMessage.Parse(Encoding.UTF8.GetBytes(body), false, out var problem));
        Assert.NotNull(problem);
        Assert.DoesNotContain(Marker, problem.Description, StringComparison.Ordinal);
        Assert.DoesNotContain(Marker, problem.Code, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refusal_of_an_unknown_method_with_a_bad_target_does_not_quote_the_method()
    {
        // tools/call is a method Tessera knows; a refusal naming it quotes nothing the client chose beyond it.
        Assert.Null(McpMessage.Parse(Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}"""), false, out var problem));
        Assert.Equal("tools/call needs params.name as a string", problem!.Description);
    }

    private static McpMessage Parse(string json)
    {
        var message = McpMessage.Parse(Encoding.UTF8.GetBytes(json), false, out var problem);
        Assert.Null(problem);
        return Assert.IsType<McpMessage>(message);
    }

    private static void AssertRefused(string json, string code) => AssertRefused(Encoding.UTF8.GetBytes(json), code);

    private static void AssertRefused(byte[] body, string code)
    {
        var message = McpMessage.Parse(body, true, out var problem);

        Assert.Null(message);
        Assert.NotNull(problem);
        Assert.Equal(code, problem.Code);
        Assert.False(string.IsNullOrWhiteSpace(problem.Description));
    }

    private static byte[] Call(string name) => Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"{{{name}}}"}}""");

    private static byte[] Splice(string before, byte[] middle, string after) =>
        [.. Encoding.UTF8.GetBytes(before), .. middle, .. Encoding.UTF8.GetBytes(after)];

    /// <summary>A tools/call whose arguments hold <paramref name="arrays"/> nested arrays.</summary>
    private static string Nested(int arrays) =>
        $$$$"""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":{{{{new string('[', arrays)}}}}{{{{new string(']', arrays)}}}}}}}""";
}
