namespace Tessera.Server.Tests.Attacks;

/// <summary>
/// Hostile bodies to every admin route that takes one (or takes none but is sent <c>{}</c> by the
/// CLI): bodies over the limit, declared or streamed, the wrong content type, malformed JSON,
/// wrong shapes and types, repeated and unknown members. Each is a 4xx problem (413, 415 or 400) on
/// a real Kestrel connection — never a 5xx — is on record as <c>admin.denied</c> with the code of the
/// rule that refused it, and changes nothing else: no other audit event, no state.
/// </summary>
public sealed class AdminBodyAttackTests : IAsyncLifetime
{
    private TestBroker _broker = null!;
    private TestIdp _idp = null!;

    public async ValueTask InitializeAsync() => (_broker, _idp) = await ApprovalBroker.StartAsync(realHttp: true);

    public async ValueTask DisposeAsync() => await _broker.DisposeAsync();

    private const string Json = "Content-Type: application/json";

    /// <summary>One route: how to reach it, who may, a body it accepts, and the route's own wrong shapes.</summary>
    public sealed record Route(string Name, string Method, string Path, string Valid, string WrongType, string Duplicate, string Unknown);

    private static readonly Route[] Routes =
    [
        new("revocations", "POST", "/admin/v1/revocations", """{"kind":"agent","id":"support-agent"}""",
            """{"kind":"agent","id":42}""", """{"kind":"jti","kind":"agent","id":"support-agent"}""", """{"kind":"agent","id":"support-agent","reason":"x"}"""),
        new("secret put", "PUT", "/admin/v1/secrets/new-key", """{"value":"v-123"}""",
            """{"value":123}""", """{"value":"a","value":"b"}""", """{"value":"v-123","name":"other"}"""),
        new("secret rotate", "POST", "/admin/v1/secrets/existing-key/rotate", """{"value":"v-456"}""",
            """{"value":["v"]}""", """{"value":"a","value":"b"}""", """{"value":"v-456","version":9}"""),
        new("approve", "POST", "/admin/v1/approvals/{id}/approve", """{"comment":"checked"}""",
            """{"comment":42}""", """{"comment":"yes","comment":"no"}""", """{"comment":"ok","status":"approved"}"""),
        new("deny", "POST", "/admin/v1/approvals/{id}/deny", """{"comment":"no"}""",
            """{"comment":true}""", """{"comment":"yes","comment":"no"}""", """{"comment":"ok","status":"denied"}"""),
        new("suspend", "POST", "/admin/v1/agents/support-agent/suspend", "{}", """{"id":7}""", """{"a":1,"a":2}""", """{"reason":"x"}"""),
        new("resume", "POST", "/admin/v1/agents/support-agent/resume", "{}", """{"id":7}""", """{"a":1,"a":2}""", """{"reason":"x"}"""),
        new("key rotation", "POST", "/admin/v1/keys/rotate", "{}", """{"kid":7}""", """{"a":1,"a":2}""", """{"algorithm":"HS256"}"""),
        new("vault rekey", "POST", "/admin/v1/vault/rekey", "{}", """{"key":7}""", """{"a":1,"a":2}""", """{"force":true}"""),
    ];

    public static TheoryData<string> RouteNames() => [.. Routes.Select(r => r.Name)];

    /// <summary>Each hostile request: what it is, its headers (framing included), its bytes, and the expected status.</summary>
    private static IEnumerable<(string What, string[] Headers, byte[] Body, int Status)> HostileRequests(Route route)
    {
        var valid = Encoding.UTF8.GetBytes(route.Valid);
        var big = Encoding.ASCII.GetBytes("{\"value\":\"" + new string('x', 128 * 1024) + "\"}");
        var huge = new byte[5 * 1024 * 1024];
        Array.Fill(huge, (byte)'x');

        // The reported case: several megabytes, over the server's 1 MiB limit, declared up front.
        yield return ("5 MiB with Content-Length", [Json, $"Content-Length: {huge.Length}"], huge, 413);
        yield return ("128 KiB with Content-Length", [Json, $"Content-Length: {big.Length}"], big, 413);
        yield return ("128 KiB chunked", [Json, "Transfer-Encoding: chunked"], RawHttp.Chunked(big, 8 * 1024), 413);
        yield return ("5 MiB chunked", [Json, "Transfer-Encoding: chunked"], RawHttp.Chunked(huge, 64 * 1024), 413);
        yield return ("text/plain", ["Content-Type: text/plain", $"Content-Length: {valid.Length}"], valid, 415);
        yield return ("form-encoded", ["Content-Type: application/x-www-form-urlencoded", $"Content-Length: {valid.Length}"], valid, 415);
        yield return ("no content type", [$"Content-Length: {valid.Length}"], valid, 415);
        yield return ("JSON in another charset", ["Content-Type: application/json; charset=utf-16", $"Content-Length: {valid.Length}"], valid, 415);
        foreach (var (what, body) in new (string, string)[]
        {
            ("not JSON", "revoke everything"),
            ("truncated JSON", route.Valid[..^1]),
            ("an array", "[" + route.Valid + "]"),
            ("a string", "\"" + route.Name + "\""),
            ("null", "null"),
            ("two documents", route.Valid + route.Valid),
            ("a trailing comma", route.Valid[..^1] + ",}"),
            ("a comment", "/* x */" + route.Valid),
            ("nesting deeper than the parser's limit", "{\"a\":" + new string('[', 200) + new string(']', 200) + "}"),
            ("a wrong-typed member", route.WrongType),
            ("a repeated member", route.Duplicate),
            ("an unknown member", route.Unknown),
        })
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            yield return (what, [Json, $"Content-Length: {bytes.Length}"], bytes, 400);
        }

        byte[] invalidUtf8 = [.. "{\"x\":\""u8, 0xff, 0xfe, .. "\"}"u8];
        yield return ("invalid UTF-8", [Json, $"Content-Length: {invalidUtf8.Length}"], invalidUtf8, 400);
    }

    [Theory]
    [MemberData(nameof(RouteNames))]
    public async Task Every_hostile_body_is_a_4xx_problem_and_changes_nothing(string name)
    {
        var route = Routes.Single(r => r.Name == name);
        var (path, bearer) = await PrepareAsync(_broker, _idp, route);
        var before = await AuditAsync(_broker);
        var failures = new List<string>();

        foreach (var (what, headers, body, status) in HostileRequests(route))
        {
            var response = await RawHttp.SendAsync(_broker.Address!, route.Method, path, [$"Authorization: Bearer {bearer}", .. headers], body);
            if (response.Status != status || response.ContentType?.StartsWith("application/problem+json", StringComparison.Ordinal) != true || !IsProblem(response.Body, status))
            {
                failures.Add($"{what}: expected {status} problem details, got {response.Status} {response.ContentType}: {Clip(response.Body)}");
            }

            var code = ExpectedCode(route, what, status);
            var last = (await _broker.AuditEventsAsync())[^1].Record;
            if (last.Type != AuditTypes.AdminDenied || last.ReasonCode != code)
            {
                failures.Add($"{what}: expected admin.denied {code}, got {last.Type} {last.ReasonCode ?? "without a code"}: {last.Reason}");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.Equal(before, await AuditAsync(_broker));

        // Nothing was half-done: the route still takes a proper body.
        var valid = Encoding.UTF8.GetBytes(route.Valid);
        var ok = await RawHttp.SendAsync(_broker.Address!, route.Method, path, [$"Authorization: Bearer {bearer}", Json, $"Content-Length: {valid.Length}"], valid);
        Assert.True(ok.Status is >= 200 and < 300, $"{ok.Status}: {ok.Body}");
    }

    [Theory]
    [MemberData(nameof(RouteNames))]
    public async Task An_unauthenticated_oversized_body_is_refused_without_a_5xx(string name)
    {
        var route = Routes.Single(r => r.Name == name);
        var (path, _) = await PrepareAsync(_broker, _idp, route);
        var huge = new byte[3 * 1024 * 1024];

        var response = await RawHttp.SendAsync(_broker.Address!, route.Method, path, [Json, $"Content-Length: {huge.Length}"], huge);

        Assert.True(response.Status is 401 or 413, $"{response.Status}: {Clip(response.Body)}");
        Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_with_malformed_chunks_is_a_400_problem_on_record_as_unreadable()
    {
        var response = await RawHttp.SendAsync(_broker.Address!, "POST", "/admin/v1/revocations",
            [$"Authorization: Bearer {_broker.AdminToken}", Json, "Transfer-Encoding: chunked"], "zz\r\n{}\r\n0\r\n\r\n"u8.ToArray());

        Assert.True(response.Status == 400, $"{response.Status}: {Clip(response.Body)}");
        var refusal = await AuditAssert.LastRefusalAsync(_broker, AuditTypes.AdminDenied, RefusalCodes.AdminBodyUnreadable);
        Assert.Equal("bootstrap-admin", refusal.Record.Principal);
    }

    [Fact]
    public async Task The_routes_that_take_no_body_still_accept_none_and_the_clis_empty_object()
    {
        var none = await RawHttp.SendAsync(_broker.Address!, "POST", "/admin/v1/agents/support-agent/suspend", [$"Authorization: Bearer {_broker.AdminToken}", "Content-Length: 0"]);
        var empty = await RawHttp.SendAsync(_broker.Address!, "POST", "/admin/v1/agents/support-agent/resume",
            [$"Authorization: Bearer {_broker.AdminToken}", "Content-Type: application/json; charset=utf-8", "Transfer-Encoding: chunked"], RawHttp.Chunked("{}"u8.ToArray(), 2));

        Assert.True(none.Status == 200, none.Body);
        Assert.True(empty.Status == 200, empty.Body);
    }

    /// <summary>Makes the route's target exist (an approval to decide, a secret to rotate) and picks who calls it.</summary>
    private static async Task<(string Path, string Bearer)> PrepareAsync(TestBroker broker, TestIdp idp, Route route)
    {
        if (route.Path.Contains("{id}", StringComparison.Ordinal))
        {
            var id = await broker.RequestApprovalAsync(idp);
            return (route.Path.Replace("{id}", id, StringComparison.Ordinal), idp.As(broker, "bob"));
        }

        if (route.Path.Contains("existing-key", StringComparison.Ordinal))
        {
            var value = "{\"value\":\"v-1\"}"u8.ToArray();
            var put = await RawHttp.SendAsync(broker.Address!, "PUT", "/admin/v1/secrets/existing-key",
                [$"Authorization: Bearer {broker.AdminToken}", Json, $"Content-Length: {value.Length}"], value);
            Assert.Equal(201, put.Status);
        }

        return (route.Path, broker.AdminToken);
    }

    /// <summary>The audit log's events but refusals (type, outcome, reason): every change of state is recorded with one.</summary>
    private static async Task<string[]> AuditAsync(TestBroker broker) =>
        [.. (await broker.AuditEventsAsync()).Where(e => e.Record.Type != AuditTypes.AdminDenied).Select(e => $"{e.Seq} {e.Record.Type} {e.Record.Outcome} {e.Record.Reason}")];

    /// <summary>The rule that refuses a hostile request: the size, the media type, the route's shape (none at all, or its own).</summary>
    private static string ExpectedCode(Route route, string what, int status) => status switch
    {
        413 => RefusalCodes.AdminBodyTooLarge,
        415 => RefusalCodes.AdminBodyMediaType,
        _ when route.Valid == "{}" => RefusalCodes.AdminBodyNotExpected,
        _ when route.Path.Contains("approvals", StringComparison.Ordinal) && what == "a wrong-typed member" => RefusalCodes.ApprovalCommentInvalid,
        _ => RefusalCodes.AdminBodyInvalid,
    };

    private static bool IsProblem(string body, int status)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("status", out var s) && s.GetInt32() == status
                && json.RootElement.TryGetProperty("title", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Clip(string value) => value.Length > 200 ? value[..200] + "…" : value;
}
