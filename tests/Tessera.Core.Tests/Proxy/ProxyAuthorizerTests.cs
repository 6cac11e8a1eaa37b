namespace Tessera.Core.Tests.Proxy;

public sealed class ProxyAuthorizerTests
{
    private static readonly Tool Crm = new(new ToolOptions
    {
        Id = "crm",
        Audience = "urn:tessera:tool:crm",
        Scopes = new Dictionary<string, ToolScopeOptions>
        {
            ["read"] = new(["GET /contacts/**", "GET /accounts/*"], null),
            ["export"] = new(["POST /exports"], null),
            ["admin"] = new(["* /admin/**"], null),
        },
    });

    private static readonly Tool Github = new(new ToolOptions
    {
        Id = "github",
        Audience = "https://api.github.com",
        Scopes = new Dictionary<string, ToolScopeOptions> { ["repo.read"] = new(["GET /repos/**"], null) },
    });

    [Theory]
    [InlineData("crm:read", "GET", "/accounts/7", "crm:read", "GET /accounts/*")]
    [InlineData("crm:read crm:export", "POST", "/exports", "crm:export", "POST /exports")] // of several scopes, the one whose rule matches
    public void A_request_a_rule_of_the_tokens_scope_matches_is_allowed_naming_the_scope_and_rule(string scopes, string method, string path, string scope, string rule)
    {
        var decision = ProxyAuthorizer.Authorize(Token(scopes), Crm, method, Path(path), Issuer);

        Assert.True(decision.IsAllowed);
        Assert.Equal(scope, decision.Scope);
        Assert.Equal(rule, decision.Rule!.Text);
    }

    [Fact]
    public void A_wildcard_method_rule_allows_any_method_on_its_paths_only()
    {
        Assert.True(ProxyAuthorizer.Authorize(Token("crm:admin"), Crm, "DELETE", Path("/admin/users/3"), Issuer).IsAllowed);
        Assert.False(ProxyAuthorizer.Authorize(Token("crm:admin"), Crm, "DELETE", Path("/contacts/3"), Issuer).IsAllowed);
    }

    [Fact]
    public void A_token_for_another_tool_is_403_even_when_its_path_would_match()
    {
        var decision = ProxyAuthorizer.Authorize(Token("github:repo.read", audience: "https://api.github.com"), Crm, "GET", Path("/contacts/1"), Issuer);

        Assert.False(decision.IsAllowed);
        Assert.Equal(403, decision.Status);
        Assert.Equal("the token is not for tool 'crm'", decision.Reason);
    }

    [Fact]
    public void A_mission_token_addressed_to_the_issuer_is_403()
    {
        var decision = ProxyAuthorizer.Authorize(Token("crm:read", audience: "https://tessera.example"), Crm, "GET", Path("/contacts/1"), Issuer);

        Assert.Equal(403, decision.Status);
        Assert.Null(decision.Rule);
        Assert.Equal(ProxyAuthorizer.MissionTokenRefused, decision.Reason);
    }

    [Theory]
    [InlineData("https://tessera.example")]
    [InlineData("https://tessera.example/")]
    public void A_mission_token_is_refused_even_by_a_tool_whose_audience_is_the_issuer(string audience)
    {
        // Configuration refuses such a tool; the proxy's rule holds without that check.
        var self = new Tool(new ToolOptions
        {
            Id = "self",
            Audience = audience,
            Scopes = new Dictionary<string, ToolScopeOptions> { ["read"] = new(["GET /**"], null) },
        });
        var mission = Token("self:read", audience: audience) with { Mission = "m_1", ActorChain = ["support-agent"], Subject = "alice" };

        var decision = ProxyAuthorizer.Authorize(mission, self, "GET", Path("/anything"), Issuer);

        Assert.False(decision.IsAllowed);
        Assert.Equal(403, decision.Status);
        Assert.Equal(ProxyAuthorizer.MissionTokenRefused, decision.Reason);
    }

    [Fact]
    public void A_token_addressed_to_a_tool_but_carrying_another_tools_scope_gets_no_rule()
    {
        // The audience is crm's, but the scope names github's rules: neither tool's rules apply.
        var decision = ProxyAuthorizer.Authorize(Token("github:repo.read"), Crm, "GET", Path("/repos/acme/app"), Issuer);

        Assert.Equal(403, decision.Status);
        Assert.False(ProxyAuthorizer.Authorize(Token("github:repo.read"), Github, "GET", Path("/repos/acme/app"), Issuer).IsAllowed);
    }

    [Theory]
    [InlineData("crm:write crm:*")] // scopes the tool does not define
    [InlineData("")]
    public void A_scope_the_tool_does_not_define_or_an_empty_scope_grants_nothing(string scope)
    {
        var decision = ProxyAuthorizer.Authorize(Token(scope), Crm, "GET", Path("/contacts/1"), Issuer);

        Assert.Equal(403, decision.Status);
    }

    [Fact]
    public void The_rules_of_a_scope_the_token_lacks_do_not_apply()
    {
        var decision = ProxyAuthorizer.Authorize(Token("crm:read"), Crm, "POST", Path("/exports"), Issuer);

        Assert.Equal(403, decision.Status);
        Assert.Equal("no rule of the token's scopes allows POST /exports", decision.Reason);
    }

    [Theory]
    [InlineData("HEAD", "/contacts/1")]
    [InlineData("OPTIONS", "/contacts/1")]
    [InlineData("DELETE", "/contacts/1")]
    [InlineData("PUT", "/contacts/1")]
    [InlineData("get", "/contacts/1")]
    [InlineData("GET", "/Contacts/1")]
    [InlineData("GET", "/admin")]
    [InlineData("GET", "/accounts/7/owner")]
    [InlineData("GET", "/")]
    public void A_method_or_path_outside_the_rules_is_403(string method, string path)
    {
        var decision = ProxyAuthorizer.Authorize(Token("crm:read"), Crm, method, Path(path), Issuer);

        Assert.False(decision.IsAllowed);
        Assert.Equal(403, decision.Status);
        Assert.Null(decision.Scope);
    }

    [Fact]
    public void Rules_match_the_decoded_normalized_path()
    {
        Assert.True(ProxyAuthorizer.Authorize(Token("crm:read"), Crm, "GET", Path("/accounts/%41cme"), Issuer).IsAllowed);
        Assert.True(ProxyAuthorizer.Authorize(Token("crm:read"), Crm, "GET", Path("/accounts/./jane%20doe"), Issuer).IsAllowed);
    }

    [Fact]
    public void The_override_headers_name_every_method_and_url_override_the_proxy_refuses()
    {
        Assert.Equal(
            ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Original-URL", "X-Rewrite-URL"],
            ProxyAuthorizer.OverrideHeaders);
    }

    private static ProxyPath Path(string raw) => ProxyPath.Normalize(raw, out _) ?? throw new ArgumentException(raw);

    private const string Issuer = "https://tessera.example";

    private static AccessTokenClaims Token(string scope, string audience = "urn:tessera:tool:crm") => new()
    {
        Issuer = "https://tessera.example",
        Subject = "support-agent",
        Audience = audience,
        ClientId = "support-agent",
        Scope = ScopeSet.Parse(scope),
        Jti = "jti-1",
        IssuedAt = 1_800_000_000,
        ExpiresAt = 1_800_000_300,
    };
}
