using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Server.Tests.OAuth;

public sealed class ClientCredentialsGrantTests
{
    [Fact]
    public async Task Issued_token_is_accepted_by_an_independent_validator_using_the_served_jwks()
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();

        var jwks = new JsonWebKeySet(await broker.Client.GetStringAsync("/.well-known/jwks.json"));
        var handler = new JsonWebTokenHandler();
        var result = await handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = TestBroker.Issuer,
            ValidAudience = "urn:tessera:tool:crm",
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidTypes = ["at+jwt"],
            ClockSkew = TimeSpan.FromSeconds(30),
            // The token is stamped with the broker's controlled clock, so lifetime is checked against it.
            LifetimeValidator = (nbf, exp, _, _) => exp > TestBroker.Start.UtcDateTime,
        });

        Assert.True(result.IsValid, result.Exception?.ToString());
        var jwt = (JsonWebToken)result.SecurityToken;
        Assert.Equal("support-agent", jwt.Subject);
        Assert.Equal("support-agent", jwt.GetClaim("client_id").Value);
        Assert.Equal("crm:read", jwt.GetClaim("scope").Value);
        Assert.False(string.IsNullOrEmpty(jwt.Id));
        Assert.Equal("at+jwt", jwt.Typ);
        Assert.Equal(TestBroker.Start.ToUnixTimeSeconds(), long.Parse(jwt.GetClaim("iat").Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Response_carries_bearer_type_lifetime_bounded_by_agent_max_ttl_and_granted_scope()
    {
        await using var broker = await TestBroker.StartAsync();
        using var response = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", "crm:read"), ("resource", "urn:tessera:tool:crm"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        using var json = await TestBroker.ReadJsonAsync(response);
        Assert.Equal("Bearer", json.RootElement.GetProperty("token_type").GetString());
        Assert.Equal(600, json.RootElement.GetProperty("expires_in").GetInt64());
        Assert.Equal("crm:read", json.RootElement.GetProperty("scope").GetString());
    }

    [Fact]
    public async Task Without_scope_the_agent_gets_everything_it_may_hold_on_the_tool()
    {
        await using var broker = await TestBroker.StartAsync();
        using var response = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("audience", "crm"));
        using var json = await TestBroker.ReadJsonAsync(response);
        Assert.Equal("crm:export crm:read", json.RootElement.GetProperty("scope").GetString());
    }

    [Fact]
    public async Task Approval_gated_scopes_are_left_out_when_unasked_and_need_an_approval_when_asked()
    {
        var directory = new TestIdp().NewBrokerDirectory();
        await using var broker = await TestBroker.StartAsync($$"""
            server: { listen: http://tessera.test }
            {{TestIdp.Yaml}}
            approver_groups:
              - { id: security-oncall, members: [ { idp: corp, sub: bob } ] }
            tools:
              - id: crm
                scopes:
                  read: { rules: [ "GET /a" ] }
                  export: { rules: [ "POST /b" ], approval: { group: security-oncall } }
            agents:
            {{Reader("\"crm:read\", \"crm:export\"")}}
            """, directory);

        using var everything = await broker.ClientCredentialsAsync("reader", "foo", ("audience", "crm"));
        using var everythingJson = await TestBroker.ReadJsonAsync(everything);
        Assert.Equal("crm:read", everythingJson.RootElement.GetProperty("scope").GetString());

        using var asked = await broker.ClientCredentialsAsync("reader", "foo", ("scope", "crm:read crm:export"));
        var body = await OAuthAssert.ErrorAsync(asked, HttpStatusCode.BadRequest, "approval_required");
        Assert.Contains("crm:export", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scopes_outside_allowed_scopes_are_dropped_and_nothing_left_is_invalid_scope()
    {
        await using var broker = await TestBroker.StartAsync($$"""
            server: { listen: http://tessera.test }
            tools:
              - id: crm
                scopes: { read: { rules: [ "GET /a" ] }, export: { rules: [ "POST /b" ] }, admin: { rules: [ "DELETE /c" ] } }
            agents:
            {{Reader("\"crm:read\"")}}
            """);
        using var narrowed = await broker.ClientCredentialsAsync("reader", "foo", ("scope", "crm:read crm:admin"));
        using var narrowedJson = await TestBroker.ReadJsonAsync(narrowed);
        Assert.Equal("crm:read", narrowedJson.RootElement.GetProperty("scope").GetString());

        using var refused = await broker.ClientCredentialsAsync("reader", "foo", ("scope", "crm:admin"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        using var error = await TestBroker.ReadJsonAsync(refused);
        Assert.Equal("invalid_scope", error.RootElement.GetProperty("error").GetString());
        await AuditAssert.RefusedOnceAsync(broker, "token.denied", RefusalCodes.ScopeNoneGranted);
    }

    [Fact]
    public async Task Unknown_or_unreachable_tool_is_invalid_target()
    {
        await using var broker = await TestBroker.StartAsync();
        foreach (var (parameters, code) in new[]
        {
            (("resource", "urn:tessera:tool:nope"), RefusalCodes.TargetUnknown),
            (("audience", "github"), RefusalCodes.TargetNotAllowed),
            (("scope", "crm:read github:repo.read"), RefusalCodes.TargetNotInferred),
        })
        {
            using var response = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, parameters);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using var json = await TestBroker.ReadJsonAsync(response);
            Assert.Equal("invalid_target", json.RootElement.GetProperty("error").GetString());
            await AuditAssert.LastRefusalAsync(broker, "token.denied", code);
        }
    }

    [Fact]
    public async Task Tool_that_requires_dpop_never_gets_a_bearer_token()
    {
        await using var broker = await TestBroker.StartAsync();
        using var response = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", "vault:read"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = await TestBroker.ReadJsonAsync(response);
        Assert.Equal("invalid_request", json.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Issuance_and_denial_are_both_in_the_audit_log()
    {
        await using var broker = await TestBroker.StartAsync();
        await broker.IssueAsync();
        using var denied = await broker.ClientCredentialsAsync("support-agent", "wrong");

        var events = await broker.Store.Audit.QueryAsync(new Core.Audit.AuditQuery { Agent = "support-agent" }, CancellationToken.None);
        var issued = Assert.Single(events, e => e.Record.Type == "token.issued");
        Assert.Equal(["crm:read"], issued.Record.Scopes);
        Assert.Equal("crm", issued.Record.Tool);
        var refusal = Assert.Single(events, e => e.Record.Type == "token.denied");
        Assert.Equal("denied", refusal.Record.Outcome);
        Assert.Contains("wrong client secret", refusal.Record.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong\"", refusal.Json.AsSpan().ToArray().Select(b => (char)b).ToArray().AsSpan().ToString(), StringComparison.Ordinal);
    }

    /// <summary>The agent <c>reader</c> under <c>agents:</c>, secret <c>foo</c>, allowed <paramref name="allowedScopes"/>.</summary>
    private static string Reader(string allowedScopes) => $$"""
          - id: reader
            owner: o@example.com
            purpose: read
            expires: 2027-06-30
            auth: { client_secret_sha256: {{TestBroker.Sha256Hex("foo")}} }
            allowed_scopes: [ {{allowedScopes}} ]
        """;
}
