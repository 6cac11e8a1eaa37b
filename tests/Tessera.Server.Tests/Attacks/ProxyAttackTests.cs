using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Core.Proxy;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;

namespace Tessera.Server.Tests.Attacks;

/// <summary>
/// Hostile requests at <c>/proxy/{tool}/{**path}</c> (docs/reference/http-api.md, "Proxy"). Each one is refused
/// with the documented status, and nothing of it reaches the upstream. Requests whose path matters
/// go over a raw socket, so no client library canonicalizes the target before the broker sees it.
/// </summary>
public sealed class ProxyAttackTests : IAsyncLifetime
{
    private ProxyBroker _proxy = null!;

    public async ValueTask InitializeAsync() => _proxy = await ProxyBroker.StartAsync();

    public async ValueTask DisposeAsync() => await _proxy.DisposeAsync();

    /// <summary>Request targets that a crm:read token's rule (<c>GET /contacts/**</c>) would allow once an upstream "resolved" them.</summary>
    public static TheoryData<string> AmbiguousTargets() => new()
    {
        "/proxy/crm/contacts/../exports",
        "/proxy/crm/contacts/1/../2",
        "/proxy/crm/contacts/..",
        "/proxy/crm/contacts/..;/exports",
        "/proxy/crm/contacts/..;jsessionid=1/exports",
        "/proxy/crm/contacts/..%3B/exports",
        "/proxy/crm/contacts/%2e%2e/exports",
        "/proxy/crm/contacts/%2E%2E/exports",
        "/proxy/crm/contacts/.%2e/exports",
        "/proxy/crm/contacts/%2e./exports",
        "/proxy/crm/contacts/%2e/1",
        "/proxy/crm/contacts/1%2e",
        "/proxy/crm/contacts/a%2Fb",
        "/proxy/crm/contacts/a%2fb",
        "/proxy/crm/contacts/..%2F..%2Fadmin",
        "/proxy/crm/contacts/a%5Cb",
        "/proxy/crm/contacts/a%5cb",
        "/proxy/crm/contacts/..%5Cadmin",
        "/proxy/crm/contacts/a\\b",
        "/proxy/crm/contacts//1",
        "/proxy/crm/contacts/1//",
        "/proxy/crm//contacts/1",
        "/proxy/crm/contacts/%252F",
        "/proxy/crm/contacts/%252e%252e",
        "/proxy/crm/contacts/%2541",
        "/proxy/crm/contacts/1%0d%0aX-Injected:%20yes",
        "/proxy/crm/contacts/1%09",
        "/proxy/crm/contacts/1%7F",
        "/proxy/crm/contacts/%zz",
        "/proxy/crm/contacts/%g0",
        "/proxy/crm/contacts/1%2",
        "/proxy/crm/contacts/1%",
        "/proxy/crm/contacts/%c0%af",
        "/proxy/crm/contacts/%c0%ae%c0%ae",
        "/proxy/crm/contacts/%ff",
        "/proxy/crm/contacts/%e2%82",
        "/proxy/crm/contacts/%ed%a0%80",
    };

    [Theory]
    [MemberData(nameof(AmbiguousTargets))]
    public async Task An_ambiguous_path_is_a_400_problem_and_never_reaches_the_upstream(string target)
    {
        var response = await AssertRefusedAsync(await _proxy.TokenAsync(), "GET", target, 400, RefusalCodes.ProxyPathAmbiguous);

        Assert.Contains("ambiguous path", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ambiguous_path_refusal_is_audited_with_its_reason()
    {
        var token = await _proxy.TokenAsync();

        var (status, _) = await _proxy.RawAsync("GET", "/proxy/crm/contacts/%2e%2e/exports", token);

        Assert.Equal(400, status);
        await AuditAssert.LastRefusalAsync(_proxy.Broker, AuditTypes.ProxyDenied, RefusalCodes.ProxyPathAmbiguous);
        var denied = Assert.Single(await _proxy.Broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ProxyDenied);
        Assert.Equal(AuditOutcomes.Denied, denied.Record.Outcome);
        Assert.Equal(400, denied.Record.Status);
        Assert.Equal("crm", denied.Record.Tool);
        Assert.Equal("support-agent", denied.Record.Agent);
        Assert.Contains("encoded '.'", denied.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_encoded_nul_is_refused_by_kestrel_with_400()
    {
        var token = await _proxy.TokenAsync();

        // Kestrel refuses a request whose path decodes to a NUL before any middleware runs, so the
        // answer is Kestrel's bare 400 rather than our problem details; ProxyPathTests cover our own refusal.
        var (status, response) = await _proxy.RawAsync("GET", "/proxy/crm/contacts/1%00", token);

        Assert.Equal(400, status);
        Assert.DoesNotContain("application/problem+json", response, StringComparison.Ordinal);
        Assert.Empty(_proxy.Upstream.Received);
        Assert.DoesNotContain(await _proxy.Broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ProxyDenied);
    }

    [Fact]
    public async Task An_absolute_form_target_whose_authority_is_not_the_host_is_refused_by_kestrel_with_400()
    {
        var token = await _proxy.TokenAsync();

        // Kestrel itself refuses an absolute-form target whose authority differs from the Host header
        // (RFC 9112 §3.2.2); the request never reaches Tessera, let alone the upstream.
        var (status, _) = await _proxy.RawAsync("GET", "http://127.0.0.1:1/proxy/crm/contacts/1", token);

        Assert.Equal(400, status);
        Assert.Empty(_proxy.Upstream.Received);
    }

    [Fact]
    public async Task An_absolute_form_target_naming_the_broker_itself_is_a_400_problem()
    {
        var token = await _proxy.TokenAsync();

        // Kestrel accepts this one (the authority matches Host); the proxy refuses non-origin-form targets.
        var response = await AssertRefusedAsync(token, "GET", $"http://{_proxy.Broker.Address!.Authority}/proxy/crm/contacts/1", 400, RefusalCodes.ProxyTargetNotOriginForm);

        Assert.Contains("origin-form", response, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("github:repo.read", "/proxy/crm/contacts/1", "not for tool 'crm'")]
    [InlineData("crm:read", "/proxy/github/repos/acme/widgets", "not for tool 'github'")] // even for a path github would allow
    public async Task A_token_for_another_tool_is_403(string scope, string target, string detail)
    {
        var response = await AssertRefusedAsync(await _proxy.TokenAsync(scope), "GET", target, 403, RefusalCodes.ProxyWrongAudience);

        Assert.Contains(detail, response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_mission_token_addressed_to_the_issuer_is_403()
    {
        var token = _proxy.SignToken(c => c with { Mission = "m_1", ActorChain = ["support-agent"], Subject = "alice" }, audience: TestBroker.Issuer);

        await AssertRefusedAsync(token, "GET", "/proxy/crm/contacts/1", 403, RefusalCodes.ProxyMissionToken);
    }

    [Fact]
    public async Task A_mission_token_never_passes_even_to_a_tool_whose_audience_is_the_issuer()
    {
        // Configuration refuses such a tool; built here directly, past the loader, to show the proxy
        // holds on its own: a mission token (audience: the issuer) is never a tool token.
        await using var proxy = await ProxyBroker.StartAsync(configure: b => b.Services.AddSingleton(sp =>
        {
            var config = sp.GetRequiredService<Core.Configuration.TesseraConfig>();
            var tools = new ToolCatalog([.. config.Tools, config.Tools.Single(t => t.Id == "crm") with { Id = "self", Audience = TestBroker.Issuer, Credential = null }]);
            return new Core.Configuration.LiveConfig(new Core.Configuration.ConfigSnapshot(config, new Core.Identity.AgentRegistry(config.Agents), tools,
                new Core.Identity.IdentityProviderRegistry([], TimeProvider.System), DateTimeOffset.UnixEpoch));
        }));
        var token = proxy.SignToken(c => c with { Mission = "m_1", ActorChain = ["support-agent"], Subject = "alice" }, scope: "self:read", audience: TestBroker.Issuer);

        var (status, response) = await proxy.RawAsync("GET", "/proxy/self/contacts/1", token);

        Assert.Equal(403, status);
        await AuditAssert.LastRefusalAsync(proxy.Broker, AuditTypes.ProxyDenied, RefusalCodes.ProxyMissionToken);
        AssertProblem(response);
        Assert.Empty(proxy.Upstream.Received);
        var denied = Assert.Single(await proxy.Broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ProxyDenied);
        Assert.Equal(ProxyAuthorizer.MissionTokenRefused, denied.Record.Reason);
        Assert.Equal("m_1", denied.Record.Mission);
    }

    [Fact]
    public async Task A_token_for_an_unknown_audience_is_403() =>
        await AssertRefusedAsync(_proxy.SignToken(c => c, audience: "urn:tessera:tool:elsewhere"), "GET", "/proxy/crm/contacts/1", 403, RefusalCodes.ProxyWrongAudience);

    [Theory]
    [InlineData("DELETE", "/proxy/crm/contacts/1")]
    [InlineData("PUT", "/proxy/crm/contacts/1")]
    [InlineData("PATCH", "/proxy/crm/contacts/1")]
    [InlineData("POST", "/proxy/crm/contacts/1")]
    [InlineData("HEAD", "/proxy/crm/contacts/1")]
    [InlineData("OPTIONS", "/proxy/crm/contacts/1")]
    [InlineData("TRACE", "/proxy/crm/contacts/1")]
    [InlineData("get", "/proxy/crm/contacts/1")]
    [InlineData("Get", "/proxy/crm/contacts/1")]
    [InlineData("GET", "/proxy/crm/Contacts/1")]
    [InlineData("GET", "/proxy/crm/CONTACTS/1")]
    [InlineData("GET", "/proxy/crm/admin")]
    [InlineData("GET", "/proxy/crm/contactsX/1")]
    [InlineData("GET", "/proxy/crm/accounts/7/owner")]
    [InlineData("GET", "/proxy/crm/")]
    [InlineData("GET", "/proxy/crm")]
    [InlineData("POST", "/proxy/crm/exports")]
    public async Task A_method_or_path_no_rule_of_the_token_allows_is_403(string method, string target)
    {
        var response = await AssertRefusedAsync(await _proxy.TokenAsync(), method, target, 403, RefusalCodes.ProxyRuleNotMatched);

        // A HEAD answer carries no body to read the reason in.
        if (method != "HEAD")
        {
            Assert.Contains("no rule of the token's scopes allows", response, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("X-HTTP-Method-Override")]
    [InlineData("X-HTTP-Method")]
    [InlineData("X-Method-Override")]
    [InlineData("X-Original-URL")]
    [InlineData("X-Rewrite-URL")]
    [InlineData("x-http-method-override")]
    public async Task A_method_or_url_override_header_is_a_400_problem(string header)
    {
        var value = header.Contains("URL", StringComparison.OrdinalIgnoreCase) ? "/exports" : "DELETE";

        await AssertRefusedAsync(await _proxy.TokenAsync(), "GET", "/proxy/crm/contacts/1", 400, RefusalCodes.ProxyOverrideHeader, $"{header}: {value}");
    }

    [Fact]
    public async Task A_request_without_a_token_is_401_with_the_bearer_challenge() =>
        await AssertBearerChallengeAsync();

    [Fact]
    public async Task A_basic_credential_instead_of_a_bearer_token_is_401() =>
        await AssertBearerChallengeAsync("Authorization: Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"support-agent:{TestBroker.SupportSecret}")));

    [Fact]
    public async Task A_malformed_token_is_401_invalid_token()
    {
        await AssertInvalidTokenAsync("not-a-jwt", RefusalCodes.ProxyTokenMalformed);
        await AssertInvalidTokenAsync("a.b.c", RefusalCodes.ProxyTokenNotOurs);
        await AssertInvalidTokenAsync("eyJhbGciOiJFUzI1NiJ9.eyJ9.", RefusalCodes.ProxyTokenNotOurs);
    }

    [Fact]
    public async Task A_token_signed_by_another_key_under_our_kid_is_401_invalid_token()
    {
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var kid = _proxy.Broker.Service<SigningKeyService>().Current().Kid;

        var forged = HandSignedJwt.Es256(attacker, new { alg = "ES256", typ = "at+jwt", kid }, Claims());

        await AssertInvalidTokenAsync(forged, RefusalCodes.ProxyTokenNotOurs);
    }

    [Fact]
    public async Task An_unsigned_alg_none_token_is_401_invalid_token()
    {
        var kid = _proxy.Broker.Service<SigningKeyService>().Current().Kid;
        var payload = HandSignedJwt.Encode(Claims());

        foreach (var header in new object[] { new { alg = "none", typ = "at+jwt", kid }, new { alg = "none" }, new { alg = "None", typ = "at+jwt" } })
        {
            await AssertInvalidTokenAsync(HandSignedJwt.Encode(header) + "." + payload + ".", RefusalCodes.ProxyTokenNotOurs);
        }
    }

    [Fact]
    public async Task A_genuine_token_with_its_signature_stripped_is_401_invalid_token()
    {
        var token = await _proxy.TokenAsync();

        await AssertInvalidTokenAsync(token[..(token.LastIndexOf('.') + 1)], RefusalCodes.ProxyTokenNotOurs);
    }

    [Fact]
    public async Task An_expired_token_is_401_invalid_token()
    {
        var token = await _proxy.TokenAsync();
        using var payload = System.Text.Json.JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[1]));
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(payload.RootElement.GetProperty("exp").GetInt64());

        // Past its expiry and the 60 s of clock skew Tessera grants, by one second.
        _proxy.Broker.Time.Advance(expiresAt - _proxy.Broker.Time.GetUtcNow() + TimeSpan.FromSeconds(61));

        var response = await AssertInvalidTokenAsync(token, RefusalCodes.ProxyTokenExpired);
        Assert.Contains("expired", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_revoked_by_its_agent_is_401_invalid_token()
    {
        var token = await _proxy.TokenAsync();
        using (var revoke = await _proxy.Broker.PostFormAsync("/oauth/revoke", [new("token", token)], TestBroker.Basic("support-agent", TestBroker.SupportSecret)))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        var response = await AssertInvalidTokenAsync(token, RefusalCodes.ProxyTokenRevoked);
        Assert.Contains("revoked", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_revoked_through_the_admin_api_is_401_invalid_token()
    {
        var token = await _proxy.TokenAsync();
        using (var before = await _proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/1", token))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/revocations")
        {
            Content = new StringContent($$"""{"kind":"token","token":"{{token}}"}""", Encoding.UTF8, "application/json"),
        })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _proxy.Broker.AdminToken);
            using var revoke = await _proxy.Broker.Client.SendAsync(request);
            Assert.True(revoke.IsSuccessStatusCode, await revoke.Content.ReadAsStringAsync());
        }

        var (status, response) = await _proxy.RawAsync("GET", "/proxy/crm/contacts/1", token);

        Assert.Equal(401, status);
        await AuditAssert.LastRefusalAsync(_proxy.Broker, AuditTypes.ProxyDenied, RefusalCodes.ProxyTokenRevoked);
        Assert.Contains("error=\"invalid_token\"", Header(response, "WWW-Authenticate"), StringComparison.Ordinal);
        Assert.Single(_proxy.Upstream.Received);
    }

    [Fact]
    public async Task Two_authorization_headers_are_a_400_problem()
    {
        var token = await _proxy.TokenAsync();

        var response = await AssertRefusedAsync(token, "GET", "/proxy/crm/contacts/1", 400, RefusalCodes.ProxySeveralAuthorizationHeaders, "Authorization: Bearer " + token);

        Assert.Contains("error=\"invalid_request\"", Header(response, "WWW-Authenticate"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_tool_is_a_404_problem() =>
        await AssertRefusedAsync(await _proxy.TokenAsync(), "GET", "/proxy/erp/contacts/1", 404, RefusalCodes.ProxyToolUnknown);

    [Fact]
    public async Task A_percent_encoded_tool_id_is_not_decoded_into_a_known_tool() =>
        await AssertRefusedAsync(await _proxy.TokenAsync(), "GET", "/proxy/c%72m/contacts/1", 404, RefusalCodes.ProxyToolUnknown);

    [Fact]
    public async Task A_refused_request_does_not_spend_a_use_of_a_max_uses_token()
    {
        var token = _proxy.SignToken(c => c with { MaxUses = 1 });

        var (refused, _) = await _proxy.RawAsync("GET", "/proxy/crm/contacts/..%2Fexports", token);
        var (forbidden, _) = await _proxy.RawAsync("DELETE", "/proxy/crm/contacts/1", token);
        var (allowed, _) = await _proxy.RawAsync("GET", "/proxy/crm/contacts/1", token);
        var (spent, _) = await _proxy.RawAsync("GET", "/proxy/crm/contacts/1", token);

        Assert.Equal([400, 403, 200, 403], new[] { refused, forbidden, allowed, spent });
        Assert.Equal([RefusalCodes.ProxyPathAmbiguous, RefusalCodes.ProxyRuleNotMatched, RefusalCodes.ProxyUsesSpent],
            (await _proxy.Broker.AuditEventsAsync()).Where(e => e.Record.Type == AuditTypes.ProxyDenied).Select(e => e.Record.ReasonCode));
        Assert.Single(_proxy.Upstream.Received);
    }

    [Theory]
    [InlineData("/proxy/crm/contacts/./1", "/contacts/1")] // a single dot segment is removed before matching and forwarding
    [InlineData("/proxy/crm/accounts/%41cme", "/accounts/Acme")] // "%41" is "A": the rule sees "/accounts/Acme" and so does the upstream, never two spellings
    [InlineData("/proxy/crm/contacts/1/?fields=name&x=%2F..", "/contacts/1/?fields=name&x=%2F..")] // a trailing slash and the query string are kept
    [InlineData("/proxy/crm/contacts/Jos%C3%A9", "/contacts/Jos%C3%A9")] // non-ASCII text percent-encoded as UTF-8
    public async Task A_target_is_forwarded_in_its_one_normalized_spelling(string target, string forwarded) =>
        await AssertForwardedAsync(target, forwarded);

    [Fact]
    public async Task An_encoded_space_is_matched_decoded_and_forwarded_encoded()
    {
        await AssertForwardedAsync("/proxy/crm/contacts/jane%20doe", "/contacts/jane%20doe");

        var forwarded = Assert.Single(await _proxy.Broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ProxyForwarded);
        Assert.Equal("/contacts/jane doe", forwarded.Record.Path);
    }

    [Fact]
    public async Task An_upstream_that_echoes_the_injected_credential_in_response_headers_does_not_hand_it_to_the_agent()
    {
        _proxy.Upstream.Handler = context =>
        {
            var key = context.Request.Headers["X-Api-Key"].ToString();
            context.Response.Headers["X-Echo"] = key;
            context.Response.Headers["X-Debug"] = $"request had X-Api-Key={key}; ok";
            context.Response.Headers.Append("Set-Cookie", "theme=dark");
            context.Response.Headers.Append("Set-Cookie", "k=" + key);
            context.Response.Headers["X-Note"] = "nothing secret";
            return context.Response.WriteAsync("body is not inspected");
        };
        var token = await _proxy.TokenAsync();

        var (status, response) = await _proxy.RawAsync("GET", "/proxy/crm/contacts/1", token);

        Assert.Equal(200, status);
        Assert.DoesNotContain(ProxyBroker.CrmKey, response, StringComparison.Ordinal);
        Assert.Equal("nothing secret", Header(response, "X-Note"));
        Assert.DoesNotContain("X-Echo:", response, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("X-Debug:", response, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Set-Cookie:", response, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("body is not inspected", response, StringComparison.Ordinal);
        var outcome = Assert.Single(await _proxy.Broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ProxyCompleted);
        Assert.StartsWith("response headers carrying the credential removed: ", outcome.Record.Reason, StringComparison.Ordinal);
        Assert.Equal(["Set-Cookie", "X-Debug", "X-Echo"], outcome.Record.Reason!.Split(": ")[1].Split(", ").Order(StringComparer.Ordinal));
        Assert.DoesNotContain(ProxyBroker.CrmKey, outcome.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upstream_that_echoes_a_formatted_credential_or_its_raw_secret_does_not_hand_either_to_the_agent()
    {
        _proxy.Upstream.Handler = context =>
        {
            var authorization = context.Request.Headers.Authorization.ToString();
            context.Response.Headers["X-Echo-Authorization"] = authorization;
            context.Response.Headers["X-Echo-Token"] = authorization["Bearer ".Length..];
            context.Response.Headers["X-Note"] = "Bearer of good news";
            return Task.CompletedTask;
        };
        var token = await _proxy.TokenAsync("github:repo.read");

        var (status, response) = await _proxy.RawAsync("GET", "/proxy/github/repos/acme/widgets", token);

        Assert.Equal(200, status);
        Assert.DoesNotContain(ProxyBroker.GithubToken, response, StringComparison.Ordinal);
        Assert.DoesNotContain("X-Echo-", response, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("Bearer of good news", Header(response, "X-Note"));
    }

    [Fact]
    public async Task Hop_by_hop_headers_those_the_connection_header_names_and_client_address_headers_never_reach_the_upstream()
    {
        var token = await _proxy.TokenAsync();
        string[] stripped =
        [
            "X-Hop-Secret", "X-Other-Hop", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
            "X-Client-IP", "True-Client-IP", "X-Forwarded-Port", "X-Forwarded-Server", "X-Original-Host", "Via",
            "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix", "Forwarded", "X-Real-IP",
        ];

        var (status, _) = await _proxy.RawAsync("GET", "/proxy/crm/contacts/1", token,
            "Connection: keep-alive, X-Hop-Secret", "Connection: x-other-hop", "X-Hop-Secret: agent-chosen", "X-Other-Hop: 1",
            "Keep-Alive: timeout=5", "Proxy-Connection: keep-alive", "TE: trailers", "Trailer: X-Checksum",
            "X-Client-IP: 10.6.6.6", "True-Client-IP: 10.6.6.6", "X-Forwarded-Port: 443", "X-Forwarded-Server: internal",
            "X-Original-Host: admin.internal", "Via: 1.1 trusted-gateway", "X-Forwarded-For: 10.6.6.6", "X-Forwarded-Host: admin.internal",
            "X-Forwarded-Proto: https", "X-Forwarded-Prefix: /admin", "Forwarded: for=10.6.6.6", "X-Real-IP: 10.6.6.6",
            "X-Request-Note: kept");

        Assert.Equal(200, status);
        var received = Assert.Single(_proxy.Upstream.Received);
        Assert.Equal("kept", received.Headers["X-Request-Note"]);
        Assert.Equal(ProxyBroker.CrmKey, received.Headers["X-Api-Key"]);
        foreach (var name in stripped)
        {
            Assert.False(received.Headers.ContainsKey(name), $"{name} reached the upstream");
        }
    }

    [Theory]
    [InlineData("Content-Type")]
    [InlineData("content-length")]
    [InlineData("Host")]
    public async Task A_connection_header_naming_a_header_that_describes_the_request_is_a_400_problem(string name) =>
        await AssertRefusedAsync(await _proxy.TokenAsync(), "GET", "/proxy/crm/contacts/1", 400, RefusalCodes.ProxyConnectionHeader, $"Connection: keep-alive, {name}");

    /// <summary>Query strings an upstream could read otherwise than the proxy passed them.</summary>
    public static TheoryData<string> InvalidQueries() => new()
    {
        "?a=%zz",
        "?a=%g1",
        "?a=%2",
        "?a=%",
        "?a=1%0d%0aX-Injected:%20yes",
        "?a=%0A",
        "?a=%09",
        "?a=%1f",
        "?a=%7F",
        "?a=%ff",
        "?a=%c0%af",
        "?a=%e2%82",
        "?a=%ed%a0%80",
        "?a=\\admin",
        "?a=\"x\"",
        "?a=<b>",
        "?a={x}",
        "?a=x|y",
        "?a=^",
        "?a=`",
    };

    [Theory]
    [MemberData(nameof(InvalidQueries))]
    public async Task An_invalid_query_string_is_a_400_problem_and_never_reaches_the_upstream(string query)
    {
        var response = await AssertRefusedAsync(await _proxy.TokenAsync(), "GET", "/proxy/crm/contacts/1" + query, 400, RefusalCodes.ProxyQueryInvalid);

        Assert.Contains("invalid query", response, StringComparison.Ordinal);
        var denied = Assert.Single(await _proxy.Broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ProxyDenied);
        Assert.StartsWith("invalid query: ", denied.Record.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("?q=jane%20doe&fields=name,email")]
    [InlineData("?filter[status]=open&page=2")]
    [InlineData("?percent=%25&slash=%2F&amp=%26")]
    [InlineData("?name=Jos%C3%A9")]
    [InlineData("?")]
    [InlineData("?a=b?c/d:e@f")]
    public async Task A_valid_query_string_is_forwarded_exactly(string query) =>
        await AssertForwardedAsync("/proxy/crm/contacts/1" + query, "/contacts/1" + query);

    private object Claims()
    {
        var now = _proxy.Broker.Time.GetUtcNow().ToUnixTimeSeconds();
        return new
        {
            iss = TestBroker.Issuer,
            sub = "support-agent",
            aud = "urn:tessera:tool:crm",
            client_id = "support-agent",
            scope = "crm:read",
            jti = Guid.NewGuid().ToString("N"),
            iat = now,
            exp = now + 300,
        };
    }

    private async Task<string> AssertInvalidTokenAsync(string token, string code)
    {
        var response = await AssertRefusedAsync(token, "GET", "/proxy/crm/contacts/1", 401, code);

        var challenge = Header(response, "WWW-Authenticate");
        Assert.StartsWith("Bearer realm=\"tessera\"", challenge, StringComparison.Ordinal);
        Assert.Contains("error=\"invalid_token\"", challenge, StringComparison.Ordinal);
        return response;
    }

    /// <summary>A crm request carrying no bearer token (only <paramref name="headers"/>): 401 with the bare challenge.</summary>
    private async Task AssertBearerChallengeAsync(params string[] headers)
    {
        var response = await AssertRefusedAsync(null, "GET", "/proxy/crm/contacts/1", 401, RefusalCodes.ProxyTokenMissing, headers);

        Assert.Equal("Bearer realm=\"tessera\"", Header(response, "WWW-Authenticate"));
    }

    /// <summary>
    /// Sends a request the proxy must refuse and asserts the refusal: its status, its audited reason
    /// code, a problem-details answer, and nothing at the upstream. Returns the raw response.
    /// </summary>
    private async Task<string> AssertRefusedAsync(string? token, string method, string target, int status, string code, params string[] headers)
    {
        var (actual, response) = await _proxy.RawAsync(method, target, token, headers);

        Assert.Equal(status, actual);
        await AuditAssert.LastRefusalAsync(_proxy.Broker, AuditTypes.ProxyDenied, code);
        AssertProblem(response);
        Assert.Empty(_proxy.Upstream.Received);
        return response;
    }

    /// <summary>Sends a crm:read request that must pass and asserts the one target the upstream received.</summary>
    private async Task AssertForwardedAsync(string target, string forwarded)
    {
        var (status, _) = await _proxy.RawAsync("GET", target, await _proxy.TokenAsync());

        Assert.Equal(200, status);
        Assert.Equal(forwarded, Assert.Single(_proxy.Upstream.Received).RawTarget);
    }

    private static void AssertProblem(string response) =>
        Assert.StartsWith("application/problem+json", Header(response, "Content-Type"), StringComparison.Ordinal);

    private static string Header(string response, string name)
    {
        var head = response.Split("\r\n\r\n", 2)[0];
        var line = head.Split("\r\n").Skip(1).FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase));
        Assert.True(line is not null, $"no {name} header in:\n{head}");
        return line![(name.Length + 1)..].Trim();
    }
}
