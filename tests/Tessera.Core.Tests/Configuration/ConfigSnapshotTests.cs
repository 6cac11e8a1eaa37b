namespace Tessera.Core.Tests.Configuration;

public sealed class ConfigSnapshotTests
{
    private static readonly FakeTimeProvider Time = new(ConfigFixture.Now);
    private static readonly TesseraConfig Base = ConfigFixture.Load(ConfigFixture.Yaml());

    private static ConfigSnapshot Snapshot(TesseraConfig config) => ConfigSnapshot.Build(config, Time);

    private static AccessTokenClaims Token(string scope, string client = "support-agent", IReadOnlyList<string>? actors = null, string? principal = null) => new()
    {
        Issuer = "http://127.0.0.1:8080",
        Subject = principal ?? client,
        Audience = "urn:tessera:tool:crm",
        ClientId = client,
        Scope = ScopeSet.Parse(scope),
        Jti = "jti-1",
        IssuedAt = ConfigFixture.Now.ToUnixTimeSeconds(),
        ExpiresAt = ConfigFixture.Now.ToUnixTimeSeconds() + 300,
        ActorChain = actors ?? [],
        Idp = principal is null ? null : "corp",
    };

    private static TesseraConfig WithAgentScopes(TesseraConfig config, string agent, params string[] scopes) =>
        config with { Agents = [.. config.Agents.Select(a => a.Id == agent ? a with { AllowedScopes = scopes } : a)] };

    [Fact]
    public void A_token_whose_scopes_are_all_still_allowed_is_returned_as_it_is()
    {
        var claims = Token("crm:read crm:export");

        Assert.Same(claims, Snapshot(Base).Narrow(claims));
    }

    [Fact]
    public void A_scope_the_tool_no_longer_defines_is_withdrawn()
    {
        var crm = Base.Tools.Single(t => t.Id == "crm");
        var narrowed = Snapshot(Base with { Tools = [crm with { Scopes = crm.Scopes.Where(s => s.Key != "export").ToDictionary() }] });

        Assert.Equal(["crm:read"], narrowed.Narrow(Token("crm:read crm:export")).Scope);
    }

    [Fact]
    public void A_scope_taken_from_the_agents_allowed_scopes_is_withdrawn_from_its_tokens()
    {
        var snapshot = Snapshot(WithAgentScopes(Base, "support-agent", "crm:read"));

        Assert.Equal(["crm:read"], snapshot.Narrow(Token("crm:read crm:export")).Scope);
    }

    [Fact]
    public void A_scope_taken_from_any_actor_of_a_delegated_token_is_withdrawn()
    {
        var claims = Token("crm:read crm:export", client: "ticket-bot", actors: ["support-agent"], principal: "alice");

        Assert.Same(claims, Snapshot(Base).Narrow(claims));
        Assert.Equal(["crm:read"], Snapshot(WithAgentScopes(Base, "support-agent", "crm:read")).Narrow(claims).Scope);
        Assert.Equal(["crm:export"], Snapshot(WithAgentScopes(Base, "ticket-bot", "crm:export")).Narrow(claims).Scope);
    }

    [Fact]
    public void A_principals_ceiling_narrowed_withdraws_the_scope_from_tokens_issued_on_their_behalf()
    {
        var claims = Token("crm:read crm:export", client: "ticket-bot", actors: ["support-agent"], principal: "alice");
        var ceiling = Base with { Principals = [new PrincipalOptions("corp", "alice", ["crm:read"])] };
        var unlisted = Base with { Principals = [] };

        Assert.Equal(["crm:read"], Snapshot(ceiling).Narrow(claims).Scope);
        // A principal not listed has no ceiling of ours: what the token carries stands (as at exchange).
        Assert.Same(claims, Snapshot(unlisted).Narrow(claims));
    }

    [Fact]
    public void Withdrawing_every_scope_leaves_a_token_that_allows_nothing()
    {
        var snapshot = Snapshot(WithAgentScopes(Base, "support-agent"));

        Assert.Empty(snapshot.Narrow(Token("crm:read crm:export")).Scope);
        Assert.Empty(snapshot.Narrow(Token("unknown:scope notatool")).Scope);
    }

    [Fact]
    public void A_reload_keeps_the_fetched_keys_of_an_identity_provider_configured_as_before_and_replaces_a_changed_one()
    {
        var first = Snapshot(Base);
        var same = ConfigSnapshot.Build(Base, Time, previous: first);
        var moved = ConfigSnapshot.Build(Base with { IdentityProviders = [Base.IdentityProviders[0] with { JwksUri = new Uri("https://idp.corp.example/keys") }] }, Time, previous: first);

        Assert.Same(first.IdentityProviders.FindByIssuer("https://idp.corp.example"), same.IdentityProviders.FindByIssuer("https://idp.corp.example"));
        Assert.NotSame(first.IdentityProviders.FindByIssuer("https://idp.corp.example"), moved.IdentityProviders.FindByIssuer("https://idp.corp.example"));
    }
}
