using Tessera.Core.Tests.Dpop;

namespace Tessera.Server.Tests.Dpop;

/// <summary>RFC 9449 end to end: binding at the token endpoint, proof checks at the proxy, introspection.</summary>
public sealed class DpopTests : IAsyncLifetime
{
    private const string TokenEndpoint = TestBroker.Issuer + "/oauth/token";
    private ProxyBroker _proxy = null!;
    private readonly DpopKey _key = DpopKey.CreateEc();

    public async ValueTask InitializeAsync() => _proxy = await ProxyBroker.StartAsync("""
          - id: vault
            upstream: {UPSTREAM}
            require_dpop: true
            scopes:
              read: { rules: [ "GET /**" ] }
        """, agentScopes: ["vault:read"], extraAgents: """
          - id: strict-agent
            owner: platform@corp.example
            purpose: Holds sender-constrained tokens only
            expires: 2027-06-30
            require_dpop: true
            auth:
              client_secret_sha256: {{STRICT}}
            allowed_scopes: [ "crm:read" ]
        """);

    public async ValueTask DisposeAsync()
    {
        await _proxy.DisposeAsync();
        _key.Dispose();
    }

    private DateTimeOffset Now => _proxy.Broker.Time.GetUtcNow();

    private async Task<HttpResponseMessage> TokenRequestAsync(string scope, params string[] proofs)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", scope)]),
        };
        request.Headers.Authorization = TestBroker.Basic("support-agent", TestBroker.SupportSecret);
        foreach (var proof in proofs)
        {
            request.Headers.Add("DPoP", proof);
        }

        return await _proxy.Broker.Client.SendAsync(request);
    }

    private async Task<string> BoundTokenAsync(string scope = "crm:read")
    {
        using var response = await TokenRequestAsync(scope, _key.Proof("POST", TokenEndpoint, Now));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return json.RootElement.GetProperty("access_token").GetString()!;
    }

    private static JsonElement Payload(string jwt) =>
        JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(jwt.Split('.')[1])).RootElement;

    private static string ProxyUri(string path) => TestBroker.Issuer + path;

    private Task<HttpResponseMessage> ProxyAsync(string path, string token, string scheme = "DPoP", params string[] proofs) =>
        _proxy.SendAsync(HttpMethod.Get, path, null, r =>
        {
            r.Headers.Authorization = new AuthenticationHeaderValue(scheme, token);
            foreach (var proof in proofs)
            {
                r.Headers.Add("DPoP", proof);
            }
        });

    [Fact]
    public async Task A_valid_proof_binds_the_token_to_the_key()
    {
        using var response = await TokenRequestAsync("crm:read", _key.Proof("POST", TokenEndpoint, Now));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("DPoP", json.RootElement.GetProperty("token_type").GetString());
        var token = json.RootElement.GetProperty("access_token").GetString()!;
        Assert.Equal(_key.Thumbprint(), Payload(token).GetProperty("cnf").GetProperty("jkt").GetString());
    }

    [Fact]
    public async Task Introspection_returns_the_binding()
    {
        var token = await BoundTokenAsync();

        using var response = await _proxy.Broker.PostFormAsync("/oauth/introspect", [new("token", token)], TestBroker.Basic("support-agent", TestBroker.SupportSecret));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.True(json.RootElement.GetProperty("active").GetBoolean());
        Assert.Equal("DPoP", json.RootElement.GetProperty("token_type").GetString());
        Assert.Equal(_key.Thumbprint(), json.RootElement.GetProperty("cnf").GetProperty("jkt").GetString());
    }

    [Fact]
    public async Task Two_dpop_headers_are_refused_with_invalid_dpop_proof()
    {
        using var response = await TokenRequestAsync("crm:read", _key.Proof("POST", TokenEndpoint, Now), _key.Proof("POST", TokenEndpoint, Now));

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_dpop_proof");
    }

    [Fact]
    public async Task Two_dpop_header_lines_are_refused_as_several_proofs_not_as_a_bad_one()
    {
        // HttpClient joins repeated headers into one comma-separated line (refused as a malformed proof,
        // above); two separate lines reach the "exactly one DPoP header" rule itself.
        var body = "grant_type=client_credentials&scope=crm%3Aread"u8.ToArray();
        var response = await RawHttp.SendAsync(_proxy.Broker.Address!, "POST", "/oauth/token",
        [
            "Authorization: " + TestBroker.Basic("support-agent", TestBroker.SupportSecret),
            "Content-Type: application/x-www-form-urlencoded",
            $"Content-Length: {body.Length}",
            "DPoP: " + _key.Proof("POST", TokenEndpoint, Now),
            "DPoP: " + _key.Proof("POST", TokenEndpoint, Now),
        ], body);

        Assert.Equal(400, response.Status);
        Assert.Contains("invalid_dpop_proof", response.Body, StringComparison.Ordinal);
        await AuditAssert.RefusedOnceAsync(_proxy.Broker, "token.denied", RefusalCodes.DpopSeveralProofs);
    }

    [Fact]
    public async Task An_invalid_proof_at_the_token_endpoint_is_invalid_dpop_proof_and_issues_nothing()
    {
        using var stale = await TokenRequestAsync("crm:read", _key.Proof("POST", TokenEndpoint, Now.AddHours(-1)));
        using var wrongUri = await TokenRequestAsync("crm:read", _key.Proof("POST", TestBroker.Issuer + "/oauth/introspect", Now));
        var reused = _key.Proof("POST", TokenEndpoint, Now);
        using var first = await TokenRequestAsync("crm:read", reused);
        using var replayed = await TokenRequestAsync("crm:read", reused);

        await OAuthAssert.ErrorAsync(stale, HttpStatusCode.BadRequest, "invalid_dpop_proof");
        await OAuthAssert.ErrorAsync(wrongUri, HttpStatusCode.BadRequest, "invalid_dpop_proof");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await OAuthAssert.ErrorAsync(replayed, HttpStatusCode.BadRequest, "invalid_dpop_proof");
    }

    /// <summary>Origins a proof might name besides the issuer's: a Host header the client chose, and the address the request reached.</summary>
    public static TheoryData<string> OtherOrigins => new() { "evil.example", "reached" };

    [Theory]
    [MemberData(nameof(OtherOrigins))]
    public async Task A_proof_for_the_host_the_request_named_rather_than_the_issuer_issues_nothing(string host)
    {
        var authority = host == "reached" ? _proxy.Broker.Address!.Authority : host;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", "crm:read")]),
        };
        request.Headers.Authorization = TestBroker.Basic("support-agent", TestBroker.SupportSecret);
        request.Headers.Host = authority;
        request.Headers.Add("DPoP", _key.Proof("POST", $"http://{authority}/oauth/token", Now));

        using var response = await _proxy.Broker.Client.SendAsync(request);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_dpop_proof");
    }

    [Theory]
    [MemberData(nameof(OtherOrigins))]
    public async Task A_proof_for_the_host_the_request_named_rather_than_the_issuer_is_refused_at_the_proxy(string host)
    {
        var token = await BoundTokenAsync();
        var authority = host == "reached" ? _proxy.Broker.Address!.Authority : host;
        var proof = _key.Proof("GET", $"http://{authority}/proxy/crm/contacts/1", Now, token);

        using var response = await _proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/1", null, r =>
        {
            r.Headers.Host = authority;
            r.Headers.Authorization = new AuthenticationHeaderValue("DPoP", token);
            r.Headers.Add("DPoP", proof);
        });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error=\"invalid_dpop_proof\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Empty(_proxy.Upstream.Received);
    }

    [Fact]
    public async Task A_tool_that_requires_dpop_gets_no_bearer_token_but_a_bound_one()
    {
        using var bearer = await TokenRequestAsync("vault:read");
        using var bound = await TokenRequestAsync("vault:read", _key.Proof("POST", TokenEndpoint, Now));

        await OAuthAssert.ErrorAsync(bearer, HttpStatusCode.BadRequest, "invalid_request");
        await AuditAssert.RefusedOnceAsync(_proxy.Broker, "token.denied", RefusalCodes.DpopRequiredByTool);
        Assert.Equal(HttpStatusCode.OK, bound.StatusCode);
    }

    [Fact]
    public async Task An_agent_that_requires_dpop_gets_no_bearer_token()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", "crm:read")]),
        };
        request.Headers.Authorization = TestBroker.Basic("strict-agent", ProxyBroker.StrictSecret);

        using var response = await _proxy.Broker.Client.SendAsync(request);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        await AuditAssert.RefusedOnceAsync(_proxy.Broker, "token.denied", RefusalCodes.DpopRequiredByAgent);
    }

    [Fact]
    public async Task The_proxy_forwards_a_bound_token_with_a_proof_of_its_key()
    {
        var token = await BoundTokenAsync();

        using var response = await ProxyAsync("/proxy/crm/contacts/1", token, "DPoP", _key.Proof("GET", ProxyUri("/proxy/crm/contacts/1"), Now, token));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(_proxy.Upstream.Received);
        Assert.False(received.Headers.ContainsKey("DPoP"));
        Assert.False(received.Headers.ContainsKey("Authorization"));
    }

    [Fact]
    public async Task The_proxy_refuses_a_bound_token_sent_as_bearer()
    {
        var token = await BoundTokenAsync();

        using var response = await ProxyAsync("/proxy/crm/contacts/1", token, "Bearer");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.StartsWith("DPoP ", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Empty(_proxy.Upstream.Received);
    }

    public static TheoryData<string, string> BadProxyProofs => new()
    {
        { "other-key", "invalid_dpop_proof" },
        { "no-ath", "invalid_dpop_proof" },
        { "wrong-ath", "invalid_dpop_proof" },
        { "wrong-htm", "invalid_dpop_proof" },
        { "wrong-htu", "invalid_dpop_proof" },
        { "stale", "invalid_dpop_proof" },
        { "none", "invalid_dpop_proof" },
        { "two", "invalid_dpop_proof" },
    };

    [Theory]
    [MemberData(nameof(BadProxyProofs))]
    public async Task The_proxy_refuses_bad_proofs_and_nothing_reaches_the_upstream(string kind, string error)
    {
        var token = await BoundTokenAsync();
        var uri = ProxyUri("/proxy/crm/contacts/1");
        using var other = DpopKey.CreateEc();
        string[] proofs = kind switch
        {
            "other-key" => [other.Proof("GET", uri, Now, token)],
            "no-ath" => [_key.Proof("GET", uri, Now)],
            "wrong-ath" => [_key.Proof("GET", uri, Now, token + "x")],
            "wrong-htm" => [_key.Proof("POST", uri, Now, token)],
            "wrong-htu" => [_key.Proof("GET", ProxyUri("/proxy/crm/contacts/2"), Now, token)],
            "stale" => [_key.Proof("GET", uri, Now.AddHours(-1), token)],
            "two" => [_key.Proof("GET", uri, Now, token), _key.Proof("GET", uri, Now, token)],
            _ => [],
        };

        using var response = await ProxyAsync("/proxy/crm/contacts/1", token, "DPoP", proofs);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains($"error=\"{error}\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Empty(_proxy.Upstream.Received);
    }

    [Fact]
    public async Task A_hostile_htm_is_refused_with_a_401_whose_challenge_stays_one_clean_header()
    {
        var token = await BoundTokenAsync();
        var proof = _key.Proof("GET", ProxyUri("/proxy/crm/contacts/1"), Now, token, tweak: (_, p) => p["htm"] = "G\"ET\r\nSet-Cookie: x=1");

        using var response = await ProxyAsync("/proxy/crm/contacts/1", token, "DPoP", proof);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate).ToString();
        Assert.Contains("error=\"invalid_dpop_proof\"", challenge, StringComparison.Ordinal);
        Assert.DoesNotContain("\r", challenge, StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.Empty(_proxy.Upstream.Received);
    }

    [Fact]
    public async Task The_proxy_refuses_a_replayed_proof()
    {
        var token = await BoundTokenAsync();
        var proof = _key.Proof("GET", ProxyUri("/proxy/crm/contacts/1"), Now, token);

        using var first = await ProxyAsync("/proxy/crm/contacts/1", token, "DPoP", proof);
        using var second = await ProxyAsync("/proxy/crm/contacts/1", token, "DPoP", proof);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, second.StatusCode);
        Assert.Single(_proxy.Upstream.Received);
    }

    [Fact]
    public async Task A_tool_that_requires_dpop_refuses_an_unbound_token_at_the_proxy()
    {
        var unbound = _proxy.SignToken(c => c, "vault:read", "urn:tessera:tool:vault");

        using var response = await ProxyAsync("/proxy/vault/secret", unbound, "Bearer");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Empty(_proxy.Upstream.Received);
    }

    [Fact]
    public async Task An_exchanged_token_is_bound_to_the_requesters_proof_key_not_the_subjects()
    {
        // A bound mission-like token of the same agent, exchanged with a proof of another key.
        var subject = _proxy.SignToken(c => c with
        {
            Subject = "alice",
            Idp = "corp",
            Mission = "m-dpop",
            ActorChain = ["support-agent"],
            Lineage = ["m-dpop"],
            Jkt = _key.Thumbprint(),
        }, "crm:read", TestBroker.Issuer);
        using var newKey = DpopKey.CreateEc();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent([
                new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
                new("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
                new("subject_token", subject),
                new("resource", "urn:tessera:tool:crm")]),
        };
        request.Headers.Authorization = TestBroker.Basic("support-agent", TestBroker.SupportSecret);
        request.Headers.Add("DPoP", newKey.Proof("POST", TokenEndpoint, Now));

        using var response = await _proxy.Broker.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("DPoP", json.RootElement.GetProperty("token_type").GetString());
        Assert.Equal(newKey.Thumbprint(), Payload(json.RootElement.GetProperty("access_token").GetString()!).GetProperty("cnf").GetProperty("jkt").GetString());
    }
}
