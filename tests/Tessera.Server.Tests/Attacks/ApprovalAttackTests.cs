using Tessera.Core.Tests.Dpop;

namespace Tessera.Server.Tests.Attacks;

/// <summary>
/// Hostile input to the approval flow (docs/approvals.md, docs/reference/http-api.md): CIBA polls, the admin
/// approval routes, <c>authorization_details</c>, reasons and comments, and the proxy holding a
/// token bound to one exact request. Each is refused with a clear 4xx in the endpoint's error shape
/// (OAuth JSON or problem details), never a 5xx and never a hang, and leaves every approval, every
/// use and the audit log as they were.
/// </summary>
public sealed class ApprovalAttackTests
{
    private const string TokenEndpoint = TestBroker.Issuer + "/oauth/token";
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    // ---- CIBA polls ---------------------------------------------------------------------------

    public static TheoryData<string, string> HostilePollIds() => new()
    {
        // An empty value is an omitted one (RFC 6749 §3.1): the grant lacks its parameter.
        { "", "invalid_request" },
        { "\0", "invalid_grant" },
        { "\r\nX-Injected: yes", "invalid_grant" },
        { "\u001b[2J\u001b[31m", "invalid_grant" },
        { "a\u0085b\u2028c", "invalid_grant" },
        { "../../admin/v1/approvals", "invalid_grant" },
        { "%00%0d%0a", "invalid_grant" },
        { "' OR 1=1 --", "invalid_grant" },
        { "\ud800", "invalid_grant" },
        { new string('A', 10_000), "invalid_grant" },
    };

    [Theory]
    [MemberData(nameof(HostilePollIds))]
    public async Task A_hostile_auth_req_id_is_a_400_oauth_error_that_leaves_the_real_request_untouched(string id, string error)
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var real = await broker.RequestApprovalAsync(idp);
        broker.Time.Advance(Interval);

        using var response = await broker.PollAsync(id);

        var body = await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, error);
        Assert.DoesNotContain(real, body, StringComparison.Ordinal);
        if (id.Length > 0)
        {
            Assert.DoesNotContain(id, Description(body), StringComparison.Ordinal);
        }

        // The hostile poll counted as no poll of the real request: its first poll, on time, is not slow_down.
        using var poll = await broker.PollAsync(real);
        await OAuthAssert.ErrorAsync(poll, HttpStatusCode.BadRequest, "authorization_pending");
    }

    [Fact]
    public async Task A_100_KB_auth_req_id_is_refused_as_too_large_without_being_read_as_an_id()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var real = await broker.RequestApprovalAsync(idp);
        broker.Time.Advance(Interval);

        using var response = await broker.PollAsync(new string('A', 100 * 1024));

        // Over the token endpoint's 64 KiB form limit: 413 with the OAuth error shape.
        var body = await OAuthAssert.ErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "invalid_request");
        Assert.Contains("too large", body, StringComparison.Ordinal);
        using var poll = await broker.PollAsync(real);
        await OAuthAssert.ErrorAsync(poll, HttpStatusCode.BadRequest, "authorization_pending");
    }

    [Fact]
    public async Task Another_clients_auth_req_id_is_answered_exactly_like_an_unknown_one_in_every_state()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var pending = await broker.RequestApprovalAsync(idp);
        var approved = await broker.RequestApprovalAsync(idp);
        var denied = await broker.RequestApprovalAsync(idp);
        var redeemed = await broker.RequestApprovalAsync(idp);
        await DecideOkAsync(broker, approved, "approve", idp.As(broker, "bob"));
        await DecideOkAsync(broker, denied, "deny", idp.As(broker, "bob"));
        await DecideOkAsync(broker, redeemed, "approve", idp.As(broker, "bob"));
        broker.Time.Advance(Interval);
        using (var first = await broker.PollAsync(redeemed))
        {
            await OAuthAssert.TokenAsync(first);
        }

        using var unknown = await broker.PollAsync("bm90LWFuLWlkLW9mLWFueW9uZQ");
        var unknownBody = await OAuthAssert.ErrorAsync(unknown, HttpStatusCode.BadRequest, "invalid_grant");
        foreach (var id in new[] { pending, approved, denied, redeemed })
        {
            using var other = await broker.PollAsync(id, ApprovalBroker.OtherAgent);
            Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
            Assert.Equal(unknownBody, await other.Content.ReadAsStringAsync());
        }

        // The owner's answers were not disturbed by the other client's polls.
        using var stillPending = await broker.PollAsync(pending);
        await OAuthAssert.ErrorAsync(stillPending, HttpStatusCode.BadRequest, "authorization_pending");
        using var stillDenied = await broker.PollAsync(denied);
        await OAuthAssert.ErrorAsync(stillDenied, HttpStatusCode.BadRequest, "access_denied");
        using var alreadyRedeemed = await broker.PollAsync(redeemed);
        await OAuthAssert.ErrorAsync(alreadyRedeemed, HttpStatusCode.BadRequest, "invalid_grant");
        using var token = await broker.PollAsync(approved);
        await OAuthAssert.TokenAsync(token);
    }

    [Fact]
    public async Task A_denied_or_redeemed_approval_stays_so_for_every_later_poll_and_decision()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var denied = await broker.RequestApprovalAsync(idp);
        var redeemed = await broker.RequestApprovalAsync(idp);
        await DecideOkAsync(broker, denied, "deny", idp.As(broker, "bob"));
        await DecideOkAsync(broker, redeemed, "approve", idp.As(broker, "bob"));
        broker.Time.Advance(Interval);
        using (var first = await broker.PollAsync(redeemed))
        {
            await OAuthAssert.TokenAsync(first);
        }

        using var approveDenied = await broker.DecideAsync(denied, "approve", idp.As(broker, "dave"), "overrule");
        await AssertProblemAsync(approveDenied, HttpStatusCode.Conflict);
        await AuditAssert.LastRefusalAsync(broker, "admin.denied", RefusalCodes.ApprovalAlreadyDecided);
        using var denyRedeemed = await broker.DecideAsync(redeemed, "deny", idp.As(broker, "dave"), "too late");
        await AssertProblemAsync(denyRedeemed, HttpStatusCode.Conflict);
        await AuditAssert.LastRefusalAsync(broker, "admin.denied", RefusalCodes.ApprovalAlreadyDecided);

        for (var i = 0; i < 3; i++)
        {
            broker.Time.Advance(Interval);
            using var deniedPoll = await broker.PollAsync(denied);
            await OAuthAssert.ErrorAsync(deniedPoll, HttpStatusCode.BadRequest, "access_denied");
            using var redeemedPoll = await broker.PollAsync(redeemed);
            await OAuthAssert.ErrorAsync(redeemedPoll, HttpStatusCode.BadRequest, "invalid_grant");
        }

        var events = await broker.AuditEventsAsync();
        Assert.Single(events, e => e.Record.Type == "token.issued");
        Assert.Single(events, e => e.Record.Type == "approval.denied");
        Assert.Single(events, e => e.Record.Type == "approval.approved");
    }

    [Fact]
    public async Task A_poll_with_a_dpop_proof_for_a_request_made_without_one_is_invalid_grant_and_the_bearer_poll_still_redeems()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        using var key = DpopKey.CreateEc();
        var id = await broker.RequestApprovalAsync(idp);
        await DecideOkAsync(broker, id, "approve", idp.As(broker, "bob"));
        broker.Time.Advance(Interval);

        using var bound = await PollWithProofAsync(broker, id, key.Proof("POST", TokenEndpoint, broker.Time.GetUtcNow()));
        var body = await OAuthAssert.ErrorAsync(bound, HttpStatusCode.BadRequest, "invalid_grant");
        Assert.Contains("without DPoP", body, StringComparison.Ordinal);

        using var bearer = await broker.PollAsync(id);
        var token = await OAuthAssert.TokenAsync(bearer);
        Assert.False(DelegationBroker.Claims(token).TryGetProperty("cnf", out var __));
    }

    [Fact]
    public async Task A_request_made_with_dpop_is_redeemed_only_with_a_proof_of_the_same_key()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        using var key = DpopKey.CreateEc();
        using var otherKey = DpopKey.CreateEc();
        using var asked = await AskWithProofAsync(broker, idp, key.Proof("POST", TokenEndpoint, broker.Time.GetUtcNow()));
        using var answer = JsonDocument.Parse(await OAuthAssert.ErrorAsync(asked, HttpStatusCode.BadRequest, "approval_required"));
        var id = answer.RootElement.GetProperty("auth_req_id").GetString()!;
        await DecideOkAsync(broker, id, "approve", idp.As(broker, "bob"));
        broker.Time.Advance(Interval);

        using var bearer = await broker.PollAsync(id);
        await OAuthAssert.ErrorAsync(bearer, HttpStatusCode.BadRequest, "invalid_grant");
        using var other = await PollWithProofAsync(broker, id, otherKey.Proof("POST", TokenEndpoint, broker.Time.GetUtcNow()));
        await OAuthAssert.ErrorAsync(other, HttpStatusCode.BadRequest, "invalid_grant");

        using var same = await PollWithProofAsync(broker, id, key.Proof("POST", TokenEndpoint, broker.Time.GetUtcNow()));
        var token = await OAuthAssert.TokenAsync(same);
        Assert.Equal(key.Thumbprint(), DelegationBroker.Claims(token).GetProperty("cnf").GetProperty("jkt").GetString());
    }

    // ---- Admin approval routes ----------------------------------------------------------------

    /// <summary>Request targets naming no approval; each is refused by Kestrel or by routing, never with a 5xx.</summary>
    public static TheoryData<string> HostileAdminIds() => new()
    {
        "%00",
        "%0d%0aX-Injected:%20yes",
        "..",
        "%2e%2e",
        "..%2F..%2Fkeys%2Frotate",
        "%2F",
        "%5C",
        "%ff%fe",
        "%c0%ae%c0%ae",
        "%",
        "%zz",
        "%25",
        "'%20OR%201=1",
        "*",
        new string('A', 4000),
        new string('A', 100 * 1024),
    };

    [Theory]
    [MemberData(nameof(HostileAdminIds))]
    public async Task A_hostile_id_in_the_admin_approval_routes_is_a_4xx_and_decides_nothing(string id)
    {
        var (broker, idp) = await ApprovalBroker.StartAsync(realHttp: true);
        await using var _ = broker;
        var real = await broker.RequestApprovalAsync(idp);
        var bob = idp.As(broker, "bob");

        foreach (var verb in new[] { "approve", "deny" })
        {
            var response = await RawHttp.SendAsync(broker.Address!, "POST", $"/admin/v1/approvals/{id}/{verb}",
                [$"Authorization: Bearer {bob}", "Content-Type: application/json", "Content-Length: 0"]);

            Assert.True(response.Status is >= 400 and < 500, $"{verb} {Clip(id)}: {response.Status} {response.Body}");
            if (response.Body.Length > 0)
            {
                // Whatever answered with a body answered in problem details, and did not echo the id.
                Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
                Assert.DoesNotContain("X-Injected", response.Body, StringComparison.Ordinal);
                Assert.False(response.Headers.ContainsKey("X-Injected"));
            }
        }

        var item = Assert.Single((await broker.ListApprovalsAsync(bob)).EnumerateArray());
        Assert.Equal(real, item.GetProperty("id").GetString());
        Assert.Equal("pending", item.GetProperty("status").GetString());
        Assert.DoesNotContain(await broker.AuditEventsAsync(), e => e.Record.Type is "approval.approved" or "approval.denied");
    }

    [Fact]
    public async Task Every_refused_decision_or_revocation_is_on_record_with_the_rule_that_refused_it()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);

        // frank approves for another group; alice is the principal the agent acts for.
        using (var outsider = await broker.DecideAsync(id, "approve", idp.As(broker, "frank")))
        {
            await AssertProblemAsync(outsider, HttpStatusCode.Forbidden);
            await AuditAssert.LastRefusalAsync(broker, "admin.denied", RefusalCodes.ApprovalNotAMember);
        }

        using (var self = await broker.DecideAsync(id, "approve", idp.As(broker, "alice")))
        {
            await AssertProblemAsync(self, HttpStatusCode.Forbidden);
            await AuditAssert.LastRefusalAsync(broker, "admin.denied", RefusalCodes.ApprovalSelfApproval);
        }

        await DecideOkAsync(broker, id, "deny", idp.As(broker, "bob"));
        using (var revoke = await RevokeApprovalAsync(broker, id))
        {
            await AssertProblemAsync(revoke, HttpStatusCode.Conflict);
            var denied = await AuditAssert.LastRefusalAsync(broker, "admin.denied", RefusalCodes.ApprovalNothingToRevoke);
            Assert.Equal("bootstrap-admin", denied.Record.Principal);
        }

        using (var unknown = await RevokeApprovalAsync(broker, "no-such-request"))
        {
            await AssertProblemAsync(unknown, HttpStatusCode.NotFound);
            await AuditAssert.LastRefusalAsync(broker, "admin.denied", RefusalCodes.ApprovalNotFound);
        }

        // A pending request expires after 10 minutes undecided.
        var late = await broker.RequestApprovalAsync(idp);
        broker.Time.Advance(TimeSpan.FromMinutes(11));
        using (var expired = await broker.DecideAsync(late, "approve", idp.As(broker, "bob")))
        {
            await AssertProblemAsync(expired, HttpStatusCode.Conflict);
            await AuditAssert.LastRefusalAsync(broker, "admin.denied", RefusalCodes.ApprovalExpired);
        }
    }

    private static async Task<HttpResponseMessage> RevokeApprovalAsync(TestBroker broker, string id)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/revocations")
        {
            Content = new StringContent($$"""{"kind":"approval","id":"{{id}}"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", broker.AdminToken);
        return await broker.Client.SendAsync(request);
    }

    [Fact]
    public async Task An_id_that_differs_from_a_real_one_only_in_case_or_padding_is_404()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var real = await broker.RequestApprovalAsync(idp);
        var bob = idp.As(broker, "bob");
        var flipped = new string([.. real.Select(c => char.IsAsciiLetterLower(c) ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c))]);

        foreach (var near in new[] { flipped, real + "=", " " + real, real[..^1] })
        {
            using var response = await broker.DecideAsync(Uri.EscapeDataString(near), "approve", bob);
            var body = await AssertProblemAsync(response, HttpStatusCode.NotFound);
            Assert.DoesNotContain(real, body, StringComparison.Ordinal);
            var denied = await AuditAssert.LastRefusalAsync(broker, "admin.denied", RefusalCodes.ApprovalNotFound);
            Assert.Equal("corp:bob", denied.Record.Principal);
        }

        Assert.Equal("pending", Assert.Single((await broker.ListApprovalsAsync(bob)).EnumerateArray()).GetProperty("status").GetString());
    }

    // ---- authorization_details ----------------------------------------------------------------

    private const string EmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private static string Detail(string tool = "crm", string method = "POST", string path = "/exports", string body = EmptySha, string extra = "") =>
        $$"""{"type":"tessera_request","tool":"{{tool}}","method":"{{method}}","path":"{{path}}","body_sha256":"{{body}}"{{extra}}}""";

    public static TheoryData<string, string> HostileDetails() => new()
    {
        { "not JSON", "export please" },
        { "truncated", "[" + Detail() },
        { "JSON with a comment", "[" + Detail() + "/* */]" },
        { "over 4 KiB", "[" + Detail(path: "/exports", extra: $$""","pad":"{{new string('x', 4200)}}" """) + "]" },
        { "2,000 levels of [ within 4 KiB", new string('[', 2_000) + new string(']', 2_000) },
        { "nested inside the object", "[" + Detail(extra: ""","x":{"y":{"z":{"w":[1]}}}""") + "]" },
        { "an object, not an array", Detail() },
        { "a string", "\"tessera_request\"" },
        { "a number", "42" },
        { "null", "null" },
        { "an empty array", "[]" },
        { "an array of an array", "[[" + Detail() + "]]" },
        { "two objects", "[" + Detail() + "," + Detail() + "]" },
        { "two objects of which one is another type", "[" + Detail() + """,{"type":"payment_initiation"}]""" },
        { "an extra member", "[" + Detail(extra: ""","note":"harmless" """) + "]" },
        { "a repeated member", "[" + Detail(extra: ""","method":"GET" """) + "]" },
        { "a member that is not a string", """[{"type":"tessera_request","tool":"crm","method":"POST","path":"/exports","body_sha256":null}]""" },
        { "a missing member", """[{"type":"tessera_request","tool":"crm","method":"POST","path":"/exports"}]""" },
        { "the type in another case", "[" + Detail().Replace("tessera_request", "Tessera_Request", StringComparison.Ordinal) + "]" },
        { "a lower-case method", "[" + Detail(method: "post") + "]" },
        { "a mixed-case method", "[" + Detail(method: "Post") + "]" },
        { "an empty method", "[" + Detail(method: "") + "]" },
        { "a method with a space", "[" + Detail(method: "POST /admin") + "]" },
        { "a path with ..", "[" + Detail(path: "/exports/../admin") + "]" },
        { "a path that resolves back to itself", "[" + Detail(path: "/exports/../exports") + "]" },
        { "a path with .", "[" + Detail(path: "/./exports") + "]" },
        { "a path with //", "[" + Detail(path: "//exports") + "]" },
        { "a path with a trailing slash", "[" + Detail(path: "/exports/") + "]" },
        { "a relative path", "[" + Detail(path: "exports") + "]" },
        { "a path with a query", "[" + Detail(path: "/exports?all=1") + "]" },
        { "a percent-encoded path", "[" + Detail(path: "/%65xports") + "]" },
        { "an absolute URL", "[" + Detail(path: "http://crm.example/exports") + "]" },
        { "an upper-case body_sha256", "[" + Detail(body: EmptySha.ToUpperInvariant()) + "]" },
        { "a short body_sha256", "[" + Detail(body: EmptySha[..63]) + "]" },
        { "a long body_sha256", "[" + Detail(body: EmptySha + "0") + "]" },
        { "a non-hex body_sha256", "[" + Detail(body: "g" + EmptySha[1..]) + "]" },
        { "a base64 body_sha256", "[" + Detail(body: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=") + "]" },
        { "another tool", "[" + Detail(tool: "github") + "]" },
        { "the tool in another case", "[" + Detail(tool: "CRM") + "]" },
        { "a method no requested scope allows", "[" + Detail(method: "GET") + "]" },
        { "a path only an unrequested scope allows", "[" + Detail(method: "GET", path: "/contacts/1") + "]" },
        { "a path of another gated scope", "[" + Detail(method: "PUT", path: "/billing/4711") + "]" },
        { "a lone surrogate in a value", "[" + Detail(path: "/exports\\ud800") + "]" },
        { "a lone surrogate in a member name", """[{"type":"tessera_request","\ud800":"x"}]""" },
        { "an empty query", "[" + Detail(extra: ""","query":"" """) + "]" },
        { "a query with its ?", "[" + Detail(extra: ""","query":"?all=1" """) + "]" },
        { "a query with a broken escape", "[" + Detail(extra: ""","query":"a=%zz" """) + "]" },
        { "a query with an encoded line break", "[" + Detail(extra: ""","query":"a=1%0d%0aX:1" """) + "]" },
        { "a query with a space", "[" + Detail(extra: ""","query":"a=b c" """) + "]" },
        { "a query with a fragment", "[" + Detail(extra: ""","query":"a=1#x" """) + "]" },
        { "a query that is not a string", "[" + Detail(extra: ""","query":1""") + "]" },
        { "a null query", "[" + Detail(extra: ""","query":null""") + "]" },
        { "a repeated query", "[" + Detail(extra: ""","query":"a=1","query":"a=2" """) + "]" },
        { "an empty content_type", "[" + Detail(extra: ""","content_type":"" """) + "]" },
        { "a content_type with parameters", "[" + Detail(extra: ""","content_type":"application/json; charset=utf-8" """) + "]" },
        { "a content_type in upper case", "[" + Detail(extra: ""","content_type":"Application/JSON" """) + "]" },
        { "a content_type without a subtype", "[" + Detail(extra: ""","content_type":"application" """) + "]" },
        { "a content_type with two slashes", "[" + Detail(extra: ""","content_type":"application/json/x" """) + "]" },
        { "a content_type with a space", "[" + Detail(extra: ""","content_type":"text/ plain" """) + "]" },
        { "a content_type with a line break", "[" + Detail(extra: ""","content_type":"text/plain\r\nX: 1" """) + "]" },
        { "a content_type that is not a string", "[" + Detail(extra: ""","content_type":["text/plain"]""") + "]" },
    };

    [Theory]
    [MemberData(nameof(HostileDetails))]
    public async Task Hostile_authorization_details_are_invalid_authorization_details_and_create_no_approval(string what, string details)
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;

        using var response = await broker.AskAsync(idp, "crm:export", ("authorization_details", details));

        var body = await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_authorization_details");
        Assert.True(body.Length < 1024, $"{what}: the description should not echo the input ({body.Length} bytes)");
        await AssertNoApprovalAsync(broker);
    }

    [Theory]
    [InlineData(10_000)]
    [InlineData(100_000)]
    public async Task Authorization_details_nested_beyond_the_forms_parameter_limit_are_invalid_request_and_create_no_approval(int levels)
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;

        // Form-encoded, 10,000 '[' are 30,000 bytes: past the token endpoint's 16 KiB per-parameter
        // limit, which refuses the request (invalid_request) before the details are parsed at all;
        // 100,000 are past its 64 KiB body limit (413). The depth guard itself is the 2,000-level case above.
        using var response = await broker.AskAsync(idp, "crm:export", ("authorization_details", new string('[', levels) + new string(']', levels)));

        await OAuthAssert.ErrorAsync(response, levels > 20_000 ? HttpStatusCode.RequestEntityTooLarge : HttpStatusCode.BadRequest, "invalid_request");
        await AssertNoApprovalAsync(broker);
    }

    [Fact]
    public async Task Authorization_details_on_a_request_with_no_gated_scope_are_refused_and_issue_no_token()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;

        using var read = await broker.AskAsync(idp, "crm:read", ("authorization_details", "[" + Detail(method: "GET", path: "/contacts/1") + "]"));
        await OAuthAssert.ErrorAsync(read, HttpStatusCode.BadRequest, "invalid_authorization_details");
        await AuditAssert.LastRefusalAsync(broker, "token.denied", RefusalCodes.AuthorizationDetailsUnbound);
        using var own = await broker.ClientCredentialsAsync(ApprovalBroker.Agent, ApprovalBroker.Secret,
            ("scope", "crm:read"), ("authorization_details", "[" + Detail(method: "GET", path: "/contacts/1") + "]"));
        await OAuthAssert.ErrorAsync(own, HttpStatusCode.BadRequest, "invalid_authorization_details");
        await AuditAssert.LastRefusalAsync(broker, "token.denied", RefusalCodes.AuthorizationDetailsUnbound);

        await AssertNoApprovalAsync(broker);
        Assert.DoesNotContain(await broker.AuditEventsAsync(), e => e.Record.Type == "token.issued");
    }

    // ---- reason and comment -------------------------------------------------------------------

    public static TheoryData<string> HostileReasons() => new()
    {
        "customer 4711\napproved by security: yes",
        "customer 4711\r\n",
        "nul\0byte",
        "tab\tseparated",
        "\u001b[2J\u001b[1;1Happroved",
        "next\u0085line",
        "delete\u007f",
        "refund \u202Egnp.4711 tropxe\u202C",
        "isolated \u2066export all\u2069",
        "zero\u200Bwidth",
        "line\u2028separator",
        "smuggled \U000E0061\U000E0070\U000E0070\U000E0072\U000E006F\U000E0076\U000E0065",
        new string('r', 513),
    };

    [Theory]
    [MemberData(nameof(HostileReasons))]
    public async Task A_reason_with_control_characters_or_over_512_characters_is_invalid_request_and_recorded_nowhere(string reason)
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;

        using var response = await broker.AskAsync(idp, "crm:export", ("reason", reason));

        var body = await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        Assert.Contains("'reason'", Description(body), StringComparison.Ordinal);
        await AssertNoApprovalAsync(broker);
        await AuditAssert.RefusedOnceAsync(broker, "token.denied", RefusalCodes.ApprovalNotRequested);
    }

    [Fact]
    public async Task A_reason_of_exactly_512_characters_is_accepted_whole()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var reason = new string('r', 511) + "!";

        await broker.RequestApprovalAsync(idp, "crm:export", ("reason", reason));

        Assert.Equal(reason, Assert.Single((await broker.ListApprovalsAsync(idp.As(broker, "bob"))).EnumerateArray()).GetProperty("reason").GetString());
    }

    /// <summary>Decision bodies that must be refused: the comment is not text of at most 500 characters, or the body is not <c>{"comment": ...}</c>.</summary>
    public static TheoryData<string, byte[]> HostileDecisionBodies() => new()
    {
        { "a comment forging an audit line", Json(new { comment = "ok\n{\"type\":\"approval.approved\",\"outcome\":\"allowed\"}" }) },
        { "a comment with CR LF", Json(new { comment = "ok\r\nX-Injected: yes" }) },
        { "a comment with NUL", Json(new { comment = "ok\0" }) },
        { "a comment with terminal escapes", Json(new { comment = "\u001b]0;approved\u0007\u001b[2K" }) },
        { "a comment with NEL", Json(new { comment = "ok\u0085" }) },
        { "a comment with a right-to-left override", Json(new { comment = "approved \u202Edeined\u202C" }) },
        { "a comment with a bidi isolate", Json(new { comment = "ok \u2067x\u2069" }) },
        { "a comment with tag characters", Json(new { comment = "ok \U000E0064\U000E0065\U000E006E\U000E0079" }) },
        { "a comment of 501 characters", Json(new { comment = new string('c', 501) }) },
        { "a comment that is a number", "{\"comment\":42}"u8.ToArray() },
        { "a comment that is an object", "{\"comment\":{\"text\":\"ok\"}}"u8.ToArray() },
        { "a repeated comment", "{\"comment\":\"yes\",\"comment\":\"no\"}"u8.ToArray() },
        { "an extra member", "{\"comment\":\"ok\",\"status\":\"approved\"}"u8.ToArray() },
        { "an array", "[{\"comment\":\"ok\"}]"u8.ToArray() },
        { "not JSON", "approve it"u8.ToArray() },
        { "truncated JSON", "{\"comment\":\"ok"u8.ToArray() },
        { "nesting deeper than JSON's limit", Encoding.ASCII.GetBytes("{\"comment\":" + new string('[', 2000) + new string(']', 2000) + "}") },
        { "invalid UTF-8", [.. "{\"comment\":\""u8, 0xff, 0xfe, .. "\"}"u8] },
        { "a lone surrogate escape", "{\"comment\":\"ok\\ud800\"}"u8.ToArray() },
    };

    [Theory]
    [MemberData(nameof(HostileDecisionBodies))]
    public async Task A_hostile_decision_body_is_a_400_problem_and_decides_nothing(string what, byte[] body)
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);
        var bob = idp.As(broker, "bob");

        foreach (var verb in new[] { "approve", "deny" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/approvals/{id}/{verb}") { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bob);
            using var response = await broker.Client.SendAsync(request);
            var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, what);
            Assert.DoesNotContain("X-Injected", problem, StringComparison.Ordinal);
            var refusal = (await broker.AuditEventsAsync())[^1].Record;
            Assert.Equal("admin.denied", refusal.Type);
            Assert.Contains(refusal.ReasonCode, new[] { RefusalCodes.AdminBodyInvalid, RefusalCodes.ApprovalCommentInvalid });
        }

        var item = Assert.Single((await broker.ListApprovalsAsync(bob)).EnumerateArray());
        Assert.Equal("pending", item.GetProperty("status").GetString());
        Assert.False(item.TryGetProperty("comment", out var __));
        Assert.DoesNotContain(await broker.AuditEventsAsync(), e => e.Record.Type is "approval.approved" or "approval.denied");

        // Nothing was half-done: a proper decision still goes through.
        await DecideOkAsync(broker, id, "approve", bob, "checked");
    }

    /// <summary>Decision bodies longer than the route takes (4 KiB): refused as too large, by their declared length or as read.</summary>
    public static TheoryData<string, byte[]> OversizedDecisionBodies() => new()
    {
        { "a body over 4 KiB", Json(new { comment = new string('c', 5000) }) },
        { "a body of 1 MiB", Json(new { comment = new string('c', 1024 * 1024 - 20) }) },
    };

    [Theory]
    [MemberData(nameof(OversizedDecisionBodies))]
    public async Task An_oversized_decision_body_is_a_413_problem_and_decides_nothing(string what, byte[] body)
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);
        var bob = idp.As(broker, "bob");

        foreach (var sized in new[] { true, false })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/approvals/{id}/approve")
            {
                Content = sized ? new ByteArrayContent(body) : new UnsizedContent(body, "application/json"),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bob);
            using var response = await broker.Client.SendAsync(request);
            await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, what);
        }

        Assert.Equal("pending", Assert.Single((await broker.ListApprovalsAsync(bob)).EnumerateArray()).GetProperty("status").GetString());
        Assert.DoesNotContain(await broker.AuditEventsAsync(), e => e.Record.Type is "approval.approved" or "approval.denied");
    }

    [Fact]
    public async Task A_comment_of_exactly_500_characters_is_accepted_whole()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp);
        var comment = new string('c', 499) + "!";

        using var response = await broker.DecideAsync(id, "deny", idp.As(broker, "bob"), comment);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(comment, json.RootElement.GetProperty("comment").GetString());
    }

    [Fact]
    public async Task A_comment_that_looks_like_audit_json_stays_inside_its_events_reason()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var id = await broker.RequestApprovalAsync(idp, "crm:export", ("reason", "\"},{\"type\":\"approval.approved\",\"outcome\":\"allowed\"}"));
        const string Forged = "\"},{\"type\":\"token.revoked\",\"seq\":1,\"outcome\":\"allowed\",\"hash\":\"00\"}]}";

        await DecideOkAsync(broker, id, "approve", idp.As(broker, "bob"), Forged);

        // The audit query is well-formed JSON whose events are exactly the recorded ones: the
        // comment and the reason are each one string inside one event, and nothing was forged.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/audit");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", broker.AdminToken);
        using var response = await broker.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var audit = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var events = audit.RootElement.GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(events.Count, events.Select(e => e.GetProperty("seq").GetInt64()).Distinct().Count());
        Assert.DoesNotContain(events, e => e.GetProperty("type").GetString() == "token.revoked");
        Assert.Single(events, e => e.GetProperty("type").GetString() == "approval.requested");
        var approved = Assert.Single(events, e => e.GetProperty("type").GetString() == "approval.approved");
        Assert.EndsWith(Forged, approved.GetProperty("reason").GetString(), StringComparison.Ordinal);
        var lastSeq = events[^1].GetProperty("seq").GetInt64();
        Assert.Equal(
            (await broker.AuditEventsAsync()).Where(e => e.Seq <= lastSeq).Select(e => (e.Seq, e.Record.Type)),
            events.Select(e => (e.GetProperty("seq").GetInt64(), e.GetProperty("type").GetString()!)));
    }

    // ---- The proxy with an exact-request token ------------------------------------------------

    private const string Path4711 = "/proxy/billing/billing/4711";
    private static readonly byte[] Approved = """{"plan":"annual","seats":12}"""u8.ToArray();

    /// <summary>Requests an exact-request token for <c>PUT /billing/4711</c> with <see cref="Approved"/> must not pass, each with its expected refusal.</summary>
    public static TheoryData<string, int> RefusedExactRequests() => new()
    {
        { "another body", 403 },
        { "another body, chunked", 403 },
        { "the approved body and one byte more", 403 },
        { "the approved body with a trailing newline, chunked", 403 },
        { "no body", 403 },
        { "another content type", 403 },
        { "another content type in another case", 403 },
        { "no content type", 403 },
        { "two content types", 403 },
        { "an empty query", 403 },
        { "a query", 403 },
        { "the method in lower case", 403 },
        { "POST instead of PUT", 403 },
        { "a 2 MiB body", 413 },
        { "a 2 MiB body, chunked", 413 },
        { "a 2 MiB body announced but never sent", 413 },
        { "malformed chunked framing", 400 },
    };

    [Theory]
    [MemberData(nameof(RefusedExactRequests))]
    public async Task A_request_other_than_the_approved_one_is_refused_before_the_upstream_and_spends_no_use(string what, int status)
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, idp) = await ApprovalProxyBroker.StartAsync(upstream);
        await using var _ = broker;
        var token = await ApprovalProxyBroker.ApprovedTokenAsync(broker, idp, ("authorization_details", ApprovalProxyBroker.ExactRequest("PUT", "/billing/4711", Approved)));
        var big = new byte[2 * 1024 * 1024];
        string[] auth = [$"Authorization: Bearer {token}", "Content-Type: application/json"];

        var refused = what switch
        {
            "another body" => await SendAsync(broker, "PUT", Path4711, auth, """{"plan":"free","seats":12}"""u8.ToArray()),
            "another body, chunked" => await SendChunkedAsync(broker, "PUT", Path4711, auth, """{"plan":"free","seats":12}"""u8.ToArray()),
            "the approved body and one byte more" => await SendAsync(broker, "PUT", Path4711, auth, [.. Approved, (byte)' ']),
            "the approved body with a trailing newline, chunked" => await SendChunkedAsync(broker, "PUT", Path4711, auth, [.. Approved, (byte)'\n']),
            "no body" => await SendAsync(broker, "PUT", Path4711, auth, []),
            "another content type" => await SendAsync(broker, "PUT", Path4711, [auth[0], "Content-Type: text/plain"], Approved),
            "another content type in another case" => await SendAsync(broker, "PUT", Path4711, [auth[0], "Content-Type: Application/X-Www-Form-Urlencoded"], Approved),
            "no content type" => await SendAsync(broker, "PUT", Path4711, [auth[0]], Approved),
            "two content types" => await SendAsync(broker, "PUT", Path4711, [.. auth, "Content-Type: text/plain"], Approved),
            "an empty query" => await SendAsync(broker, "PUT", Path4711 + "?", auth, Approved),
            "a query" => await SendAsync(broker, "PUT", Path4711 + "?dry_run=false", auth, Approved),
            "the method in lower case" => await SendAsync(broker, "put", Path4711, auth, Approved),
            "POST instead of PUT" => await SendAsync(broker, "POST", Path4711, auth, Approved),
            "a 2 MiB body" => await SendAsync(broker, "PUT", Path4711, auth, big),
            "a 2 MiB body, chunked" => await SendChunkedAsync(broker, "PUT", Path4711, auth, big),
            "a 2 MiB body announced but never sent" => await RawHttp.SendAsync(broker.Address!, "PUT", Path4711, [.. auth, $"Content-Length: {big.Length}"]),
            "malformed chunked framing" => await RawHttp.SendAsync(broker.Address!, "PUT", Path4711, [.. auth, "Transfer-Encoding: chunked"], "zz\r\n{}\r\n0\r\n\r\n"u8.ToArray()),
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };

        Assert.True(status == refused.Status, $"{what}: expected {status}, got {refused.Status}: {refused.Body}");
        Assert.StartsWith("application/problem+json", refused.ContentType, StringComparison.Ordinal);
        Assert.DoesNotContain(token, refused.Body, StringComparison.Ordinal);
        Assert.Empty(upstream.Received);

        // The refusal spent nothing: the approved request passes, exactly once.
        var exact = await SendAsync(broker, "PUT", Path4711, auth, Approved);
        Assert.True(exact.Status == 200, $"after {what}: {exact.Status} {exact.Body}");
        var spent = await SendAsync(broker, "PUT", Path4711, auth, Approved);
        Assert.Equal(403, spent.Status);
        Assert.Contains("spent", spent.Body, StringComparison.Ordinal);
        Assert.Equal(Approved, Assert.Single(upstream.Received).Body);
    }

    [Fact]
    public async Task An_approval_that_names_a_query_and_a_content_type_passes_exactly_that_query_and_media_type()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, idp) = await ApprovalProxyBroker.StartAsync(upstream);
        await using var _ = broker;
        var details = ApprovalProxyBroker.ExactRequest("PUT", "/billing/4711", Approved)
            .Replace("\"}]", "\",\"query\":\"dry_run=false&reason=annual%20plan\",\"content_type\":\"application/merge-patch+json\"}]", StringComparison.Ordinal);
        var token = await ApprovalProxyBroker.ApprovedTokenAsync(broker, idp, ("authorization_details", details));
        string[] auth = [$"Authorization: Bearer {token}", "Content-Type: application/merge-patch+json"];
        const string Query = "?dry_run=false&reason=annual%20plan";

        var refused = new[]
        {
            await SendAsync(broker, "PUT", Path4711, auth, Approved),
            await SendAsync(broker, "PUT", Path4711 + "?dry_run=true&reason=annual%20plan", auth, Approved),
            await SendAsync(broker, "PUT", Path4711 + "?reason=annual%20plan&dry_run=false", auth, Approved),
            await SendAsync(broker, "PUT", Path4711 + Query + "&x=1", auth, Approved),
            await SendAsync(broker, "PUT", Path4711 + Query, [auth[0], "Content-Type: application/json"], Approved),
        };

        Assert.All(refused, r => Assert.Equal(403, r.Status));
        Assert.Empty(upstream.Received);

        // The media type is compared without its parameters and case-insensitively.
        var exact = await SendAsync(broker, "PUT", Path4711 + Query, [auth[0], "Content-Type: Application/Merge-Patch+JSON; charset=utf-8"], Approved);
        Assert.True(exact.Status == 200, exact.Body);
        var received = Assert.Single(upstream.Received);
        Assert.Equal("/billing/4711" + Query, received.RawTarget);
        Assert.Equal(Approved, received.Body);
    }

    [Fact]
    public async Task An_approval_without_a_content_type_allows_application_json_only()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, idp) = await ApprovalProxyBroker.StartAsync(upstream);
        await using var _ = broker;
        var token = await ApprovalProxyBroker.ApprovedTokenAsync(broker, idp, ("authorization_details", ApprovalProxyBroker.ExactRequest("PUT", "/billing/4711", Approved)));

        var form = await SendAsync(broker, "PUT", Path4711, [$"Authorization: Bearer {token}", "Content-Type: application/x-www-form-urlencoded"], Approved);
        var json = await SendAsync(broker, "PUT", Path4711, [$"Authorization: Bearer {token}", "Content-Type: application/json; charset=utf-8"], Approved);

        Assert.Equal(403, form.Status);
        Assert.Contains("Content-Type", form.Body, StringComparison.Ordinal);
        Assert.True(json.Status == 200, json.Body);
    }

    [Fact]
    public async Task The_approved_body_sent_chunked_passes_because_the_hash_is_over_the_bytes_not_their_framing()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, idp) = await ApprovalProxyBroker.StartAsync(upstream);
        await using var _ = broker;
        var token = await ApprovalProxyBroker.ApprovedTokenAsync(broker, idp, ("authorization_details", ApprovalProxyBroker.ExactRequest("PUT", "/billing/4711", Approved)));
        string[] auth = [$"Authorization: Bearer {token}", "Content-Type: application/json"];

        // Three-byte chunks: the same bytes, framed differently, are the same body.
        var chunked = await RawHttp.SendAsync(broker.Address!, "PUT", Path4711, [.. auth, "Transfer-Encoding: chunked"], RawHttp.Chunked(Approved, 3));

        Assert.True(chunked.Status == 200, chunked.Body);
        Assert.Equal(Approved, Assert.Single(upstream.Received).Body);
        var again = await SendAsync(broker, "PUT", Path4711, auth, Approved);
        Assert.Equal(403, again.Status);
    }

    [Fact]
    public async Task A_client_expecting_100_continue_gets_it_for_the_approved_request_and_a_prompt_refusal_otherwise()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, idp) = await ApprovalProxyBroker.StartAsync(upstream);
        await using var _ = broker;
        var token = await ApprovalProxyBroker.ApprovedTokenAsync(broker, idp, ("authorization_details", ApprovalProxyBroker.ExactRequest("PUT", "/billing/4711", Approved)));
        string[] headers = [$"Authorization: Bearer {token}", "Content-Type: application/json", "Expect: 100-continue", $"Content-Length: {Approved.Length}"];

        // Refused on its request line: the final answer comes without asking for the body (no hang, no 100).
        var otherPath = await RawHttp.SendAsync(broker.Address!, "PUT", "/proxy/billing/billing/4712", headers, Approved, awaitContinue: true);
        Assert.Equal(403, otherPath.Status);
        Assert.False(otherPath.SawContinue);

        // The body must be read to be hashed: 100 Continue, then the body, then the upstream's answer.
        var exact = await RawHttp.SendAsync(broker.Address!, "PUT", Path4711, headers, Approved, awaitContinue: true);
        Assert.True(exact.SawContinue);
        Assert.True(exact.Status == 200, exact.Body);
        Assert.Equal(Approved, Assert.Single(upstream.Received).Body);
    }

    [Fact]
    public async Task A_declared_body_over_the_limit_is_413_and_spends_no_use_of_a_token_without_a_binding()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, idp) = await ApprovalProxyBroker.StartAsync(upstream);
        await using var _ = broker;
        var token = await ApprovalProxyBroker.ApprovedTokenAsync(broker, idp);
        string[] auth = [$"Authorization: Bearer {token}", "Content-Type: application/json"];

        var big = await SendAsync(broker, "PUT", Path4711, auth, new byte[2 * 1024 * 1024]);

        Assert.True(big.Status == 413, $"{big.Status}: {big.Body}");
        Assert.Empty(upstream.Received);
        var exact = await SendAsync(broker, "PUT", Path4711, auth, Approved);
        Assert.True(exact.Status == 200, exact.Body);
    }

    [Fact]
    public async Task A_streamed_body_over_the_limit_on_a_token_without_a_binding_is_413_not_a_bad_gateway()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var (broker, idp) = await ApprovalProxyBroker.StartAsync(upstream);
        await using var _ = broker;
        var token = await ApprovalProxyBroker.ApprovedTokenAsync(broker, idp);

        // Without a binding the body is streamed, not hashed: its size is known only once it runs over,
        // after the request was forwarded (and its one use counted). The client still learns why.
        var big = await SendChunkedAsync(broker, "PUT", Path4711, [$"Authorization: Bearer {token}", "Content-Type: application/json"], new byte[2 * 1024 * 1024]);

        Assert.True(big.Status == 413, $"{big.Status}: {big.Body}");
        Assert.StartsWith("application/problem+json", big.ContentType, StringComparison.Ordinal);
        Assert.Empty(upstream.Received);
    }

    // ---- the pending cap ------------------------------------------------------------------------

    [Theory]
    [InlineData(-59)]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(30)]
    [InlineData(59)]
    public async Task A_subject_token_at_the_end_of_its_life_is_refused_before_it_becomes_an_approval_that_expires_at_once(int secondsLeft)
    {
        // The identity provider's tokens are accepted up to 60 s past exp (clock skew): such a request
        // once became an approval that had already expired, which the pending cap did not count.
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var now = broker.Time.GetUtcNow();
        var subject = idp.Mint("alice", now - TimeSpan.FromMinutes(5), lifetime: TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(secondsLeft));

        using var response = await AskWithSubjectAsync(broker, subject);

        var body = await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        Assert.Contains("subject_token", Description(body), StringComparison.Ordinal);
        await AssertNoApprovalAsync(broker);
        Assert.Contains(await broker.AuditEventsAsync(), e => e.Record.Type == "token.denied" && e.Record.Reason!.Contains("subject_token", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_subject_token_with_a_minute_left_still_asks_for_approval()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var subject = idp.Mint("alice", broker.Time.GetUtcNow(), lifetime: TimeSpan.FromMinutes(1));

        using var response = await AskWithSubjectAsync(broker, subject);

        var body = await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "approval_required");
        using var json = JsonDocument.Parse(body);
        Assert.Equal(60, json.RootElement.GetProperty("expires_in").GetInt64());
    }

    [Fact]
    public async Task Skewed_subject_tokens_cannot_flood_approvers_past_the_pending_cap()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var now = broker.Time.GetUtcNow();
        var skewed = idp.Mint("alice", now - TimeSpan.FromMinutes(5), lifetime: TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(30));

        for (var i = 0; i < 20; i++)
        {
            using var response = await AskWithSubjectAsync(broker, skewed);
            await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        }

        await AssertNoApprovalAsync(broker);
    }

    // ---- helpers -------------------------------------------------------------------------------

    private static async Task<HttpResponseMessage> AskWithSubjectAsync(TestBroker broker, string subject) =>
        await broker.PostFormAsync("/oauth/token",
        [
            new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            new("subject_token", subject),
            new("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            new("resource", "urn:tessera:tool:crm"),
            new("scope", "crm:export"),
        ], TestBroker.Basic(ApprovalBroker.Agent, ApprovalBroker.Secret));

    private static Task<RawResponse> SendAsync(TestBroker broker, string method, string target, string[] headers, byte[] body) =>
        RawHttp.SendAsync(broker.Address!, method, target, [.. headers, $"Content-Length: {body.Length}"], body);

    private static Task<RawResponse> SendChunkedAsync(TestBroker broker, string method, string target, string[] headers, byte[] body) =>
        RawHttp.SendAsync(broker.Address!, method, target, [.. headers, "Transfer-Encoding: chunked"], RawHttp.Chunked(body, 16 * 1024));

    private static async Task DecideOkAsync(TestBroker broker, string id, string decision, string bearer, string? comment = null)
    {
        using var response = await broker.DecideAsync(id, decision, bearer, comment);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private static async Task<HttpResponseMessage> PollWithProofAsync(TestBroker broker, string id, string proof)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "urn:openid:params:grant-type:ciba"), new("auth_req_id", id)]),
        };
        request.Headers.Authorization = TestBroker.Basic(ApprovalBroker.Agent, ApprovalBroker.Secret);
        request.Headers.Add("DPoP", proof);
        return await broker.Client.SendAsync(request);
    }

    private static async Task<HttpResponseMessage> AskWithProofAsync(TestBroker broker, TestIdp idp, string proof)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent(
            [
                new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
                new("subject_token", idp.Mint("alice", broker.Time.GetUtcNow())),
                new("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
                new("resource", "urn:tessera:tool:crm"),
                new("scope", "crm:export"),
            ]),
        };
        request.Headers.Authorization = TestBroker.Basic(ApprovalBroker.Agent, ApprovalBroker.Secret);
        request.Headers.Add("DPoP", proof);
        return await broker.Client.SendAsync(request);
    }

    private static async Task AssertNoApprovalAsync(TestBroker broker)
    {
        Assert.Empty((await broker.ListApprovalsAsync(broker.AdminToken)).EnumerateArray());
        Assert.DoesNotContain(await broker.AuditEventsAsync(), e => e.Record.Type == "approval.requested");
    }

    private static async Task<string> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? what = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{what}: expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(body);
        Assert.Equal((int)status, json.RootElement.GetProperty("status").GetInt32());
        return body;
    }

    private static string Description(string oauthErrorBody)
    {
        using var json = JsonDocument.Parse(oauthErrorBody);
        return json.RootElement.GetProperty("error_description").GetString()!;
    }

    private static byte[] Json(object value) => JsonSerializer.SerializeToUtf8Bytes(value);

    private static string Clip(string value) => value.Length > 40 ? value[..40] + "…" : value;
}
