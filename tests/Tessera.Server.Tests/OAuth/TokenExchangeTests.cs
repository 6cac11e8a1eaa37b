using Tessera.Core.Revocation;

namespace Tessera.Server.Tests.OAuth;

public sealed class TokenExchangeTests
{
    [Fact]
    public async Task A_three_agent_chain_works_end_to_end_and_act_nests_with_the_current_actor_outermost()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var owner = broker;
        var alice = idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read crm:export github:repo.read");

        var missionA = await broker.ExchangeOkAsync("agent-a", alice, purpose: "Summarise Q3 churn for the board");
        var missionB = await broker.ExchangeOkAsync("agent-b", missionA);
        var toolC = await broker.ExchangeOkAsync("agent-c", missionB, resource: "urn:tessera:tool:crm", scope: "crm:read");

        var a = DelegationBroker.Claims(missionA);
        var c = DelegationBroker.Claims(toolC);
        Assert.Equal(TestBroker.Issuer, a.GetProperty("aud").GetString());
        Assert.Equal("alice", c.GetProperty("sub").GetString());
        Assert.Equal("agent-c", c.GetProperty("client_id").GetString());
        Assert.Equal("urn:tessera:tool:crm", c.GetProperty("aud").GetString());
        Assert.Equal("crm:read", c.GetProperty("scope").GetString());
        var act = c.GetProperty("act");
        Assert.Equal("agent-c", act.GetProperty("sub").GetString());
        Assert.Equal("agent-b", act.GetProperty("act").GetProperty("sub").GetString());
        Assert.Equal("agent-a", act.GetProperty("act").GetProperty("act").GetProperty("sub").GetString());
        Assert.False(act.GetProperty("act").GetProperty("act").TryGetProperty("act", out _));
        Assert.Equal(a.GetProperty("mission").GetString(), c.GetProperty("mission").GetString());
        Assert.Equal("Summarise Q3 churn for the board", c.GetProperty("purpose").GetString());

        var introspected = await broker.IntrospectAsync(toolC);
        Assert.True(introspected.GetProperty("active").GetBoolean());
        Assert.Equal("agent-c", introspected.GetProperty("act").GetProperty("sub").GetString());
        Assert.Equal(a.GetProperty("mission").GetString(), introspected.GetProperty("mission").GetString());
    }

    [Fact]
    public async Task The_last_agent_cannot_widen_what_it_was_given()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var owner = broker;
        var alice = idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read crm:export");
        var missionA = await broker.ExchangeOkAsync("agent-a", alice, scope: "crm:read");
        var missionB = await broker.ExchangeOkAsync("agent-b", missionA);
        Assert.Equal("crm:read", DelegationBroker.Claims(missionB).GetProperty("scope").GetString());

        // C may hold crm:export and crm:delete, but nothing upstream granted them.
        using var widen = await broker.ExchangeAsync("agent-c", missionB, "urn:tessera:tool:crm", "crm:export crm:delete");
        Assert.Equal("invalid_scope", await DelegationBroker.ErrorAsync(widen));

        // Asking for more than granted drops the excess: the answer says what was granted.
        using var narrowed = await broker.ExchangeAsync("agent-c", missionB, "urn:tessera:tool:crm", "crm:read crm:delete");
        using var json = JsonDocument.Parse(await narrowed.Content.ReadAsStringAsync());
        Assert.Equal("crm:read", json.RootElement.GetProperty("scope").GetString());
    }

    [Fact]
    public async Task An_agent_that_was_not_delegated_to_cannot_take_another_agents_token()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var owner = broker;
        var missionA = await broker.ExchangeOkAsync("agent-a", idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read"));

        using var response = await broker.ExchangeAsync("agent-x", missionA, "urn:tessera:tool:crm");
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(response));
        using var skipping = await broker.ExchangeAsync("agent-c", missionA, "urn:tessera:tool:crm");
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(skipping));
    }

    [Fact]
    public async Task Delegation_one_level_deeper_than_the_maximum_is_refused()
    {
        var (broker, idp) = await DelegationBroker.StartAsync(maxDepth: 3);
        await using var owner = broker;
        var alice = idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read");
        var missionC = await broker.ExchangeOkAsync("agent-c", await broker.ExchangeOkAsync("agent-b", await broker.ExchangeOkAsync("agent-a", alice)));
        Assert.Equal(3, Depth(DelegationBroker.Claims(missionC)));

        using var tooDeep = await broker.ExchangeAsync("agent-d", missionC, "urn:tessera:tool:crm");
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(tooDeep));
        using var body = JsonDocument.Parse(await tooDeep.Content.ReadAsStringAsync());
        Assert.Contains("deep", body.RootElement.GetProperty("error_description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exchanging_its_own_mission_token_keeps_the_depth()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var owner = broker;
        var missionA = await broker.ExchangeOkAsync("agent-a", idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read github:repo.read"));
        var tool = await broker.ExchangeOkAsync("agent-a", missionA, "https://api.github.com");
        var claims = DelegationBroker.Claims(tool);
        Assert.Equal(1, Depth(claims));
        Assert.Equal("github:repo.read", claims.GetProperty("scope").GetString());
        Assert.Equal("https://api.github.com", claims.GetProperty("aud").GetString());
    }

    [Fact]
    public async Task A_derived_token_never_outlives_its_subject_token()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var owner = broker;
        var alice = idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read", lifetime: TimeSpan.FromMinutes(2));
        using var response = await broker.ExchangeAsync("agent-a", alice);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(120, json.RootElement.GetProperty("expires_in").GetInt64());
        Assert.Equal("urn:ietf:params:oauth:token-type:access_token", json.RootElement.GetProperty("issued_token_type").GetString());
        var mission = json.RootElement.GetProperty("access_token").GetString()!;

        broker.Time.Advance(TimeSpan.FromSeconds(90));
        var tool = await broker.ExchangeOkAsync("agent-a", mission, "urn:tessera:tool:crm");
        var claims = DelegationBroker.Claims(tool);
        Assert.Equal(DelegationBroker.Claims(mission).GetProperty("exp").GetInt64(), claims.GetProperty("exp").GetInt64());
    }

    [Fact]
    public async Task The_principal_ceiling_bounds_what_any_agent_gets()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var owner = broker;
        // Alice's token claims pr.write, agent-a may hold it, but her configured ceiling excludes it.
        var alice = idp.Mint("alice", broker.Time.GetUtcNow(), scope: "github:repo.read github:pr.write");
        using var response = await broker.ExchangeAsync("agent-a", alice, "https://api.github.com", "github:pr.write");
        Assert.Equal("invalid_scope", await DelegationBroker.ErrorAsync(response));

        // Bob has no ceiling and his token no scope: he may delegate nothing.
        using var bob = await broker.ExchangeAsync("agent-a", idp.Mint("bob", broker.Time.GetUtcNow()));
        Assert.Equal("invalid_scope", await DelegationBroker.ErrorAsync(bob));
    }

    [Fact]
    public async Task Revoking_a_mission_kills_its_mission_token_and_every_derived_token_at_once_and_after_a_restart()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        var missionA = await broker.ExchangeOkAsync("agent-a", idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read"));
        var missionB = await broker.ExchangeOkAsync("agent-b", missionA);
        var toolB = await broker.ExchangeOkAsync("agent-b", missionB, "urn:tessera:tool:crm");
        var toolA = await broker.ExchangeOkAsync("agent-a", missionA, "urn:tessera:tool:crm");
        var missionId = DelegationBroker.Claims(missionA).GetProperty("mission").GetString()!;

        await RevokeAsync(broker, "mission", missionId);
        foreach (var token in new[] { missionA, missionB, toolB, toolA })
        {
            Assert.Equal("""{"active":false}""", (await broker.IntrospectAsync(token)).GetRawText());
        }

        using var again = await broker.ExchangeAsync("agent-b", missionA, "urn:tessera:tool:crm");
        Assert.Equal("invalid_request", await DelegationBroker.ErrorAsync(again));

        broker = await broker.RestartAsync();
        await using (broker)
        {
            foreach (var token in new[] { missionA, missionB, toolB, toolA })
            {
                Assert.Equal("""{"active":false}""", (await broker.IntrospectAsync(token)).GetRawText());
            }
        }
    }

    [Fact]
    public async Task Revoking_a_mission_token_kills_its_subtree_but_not_its_ancestors()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var owner = broker;
        var missionA = await broker.ExchangeOkAsync("agent-a", idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read"));
        var missionB = await broker.ExchangeOkAsync("agent-b", missionA);
        var toolC = await broker.ExchangeOkAsync("agent-c", missionB, "urn:tessera:tool:crm");
        var toolA = await broker.ExchangeOkAsync("agent-a", missionA, "urn:tessera:tool:crm");

        using var revoke = await broker.PostFormAsync("/oauth/revoke", [new("token", missionB)], TestBroker.Basic("agent-b", DelegationBroker.Secret));
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);

        Assert.False((await broker.IntrospectAsync(missionB)).GetProperty("active").GetBoolean());
        Assert.False((await broker.IntrospectAsync(toolC)).GetProperty("active").GetBoolean());
        Assert.True((await broker.IntrospectAsync(missionA)).GetProperty("active").GetBoolean());
        Assert.True((await broker.IntrospectAsync(toolA)).GetProperty("active").GetBoolean());
    }

    [Fact]
    [Trait("Speed", "Slow")] // ten thousand real exchanges
    public async Task Revoking_a_mission_with_ten_thousand_derived_tokens_is_one_entry_and_kills_them_all()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var owner = broker;
        var mission = await broker.ExchangeOkAsync("agent-a", idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read"));
        var missionId = DelegationBroker.Claims(mission).GetProperty("mission").GetString()!;
        var derived = new string[10_000];
        await Parallel.ForAsync(0, derived.Length, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
            derived[i] = await broker.ExchangeOkAsync("agent-a", mission, "urn:tessera:tool:crm"));

        var index = broker.Service<RevocationIndex>();
        var entriesBefore = index.Count;
        var storedBefore = (await broker.Store.Revocations.LoadActiveAsync(broker.Time.GetUtcNow(), CancellationToken.None)).Count;
        await RevokeAsync(broker, "mission", missionId);

        // No per-token work at revoke time: one index entry, one stored row.
        Assert.Equal(entriesBefore + 1, index.Count);
        Assert.Equal(storedBefore + 1, (await broker.Store.Revocations.LoadActiveAsync(broker.Time.GetUtcNow(), CancellationToken.None)).Count);
        var revoked = Assert.Single(await broker.Store.Audit.QueryAsync(new Core.Audit.AuditQuery { Mission = missionId, Type = "token.revoked" }, CancellationToken.None));
        Assert.Contains("10001 tokens", revoked.Record.Reason, StringComparison.Ordinal);

        // Each check is O(depth): the token's lineage names the mission.
        var validator = broker.Service<Core.Tokens.AccessTokenValidator>();
        foreach (var token in derived)
        {
            Assert.Equal(Core.Tokens.TokenStatus.Revoked, (await validator.ValidateAsync(token, CancellationToken.None)).Status);
        }
    }

    [Fact]
    public async Task Missions_are_listed_with_principal_chain_purpose_status_and_token_count()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var owner = broker;
        var mission = await broker.ExchangeOkAsync("agent-a", idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read"), purpose: "Triage ticket 4711");
        await broker.ExchangeOkAsync("agent-a", mission, "urn:tessera:tool:crm");
        await broker.ExchangeOkAsync("agent-b", mission, "urn:tessera:tool:crm");

        using var response = await broker.AdminAsync(HttpMethod.Get, "/admin/v1/missions");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var m = Assert.Single(json.RootElement.GetProperty("missions").EnumerateArray());
        Assert.Equal("alice", m.GetProperty("principal").GetString());
        Assert.Equal(["agent-a"], m.GetProperty("actor_chain").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("Triage ticket 4711", m.GetProperty("purpose").GetString());
        Assert.Equal("active", m.GetProperty("status").GetString());
        Assert.Equal(3, m.GetProperty("tokens").GetInt64());
        Assert.Equal("2026-11-29T12:00:00.000Z", m.GetProperty("started_at").GetString());
    }

    [Fact]
    public async Task A_tools_own_client_may_introspect_tokens_addressed_to_it_and_nothing_else()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var owner = broker;
        var mission = await broker.ExchangeOkAsync("agent-a", idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read github:repo.read"));
        var crm = await broker.ExchangeOkAsync("agent-a", mission, "urn:tessera:tool:crm");
        var github = await broker.ExchangeOkAsync("agent-a", mission, "https://api.github.com");

        Assert.True(await broker.IsActiveAsync(crm, "crm-service", DelegationBroker.Secret));
        Assert.False(await broker.IsActiveAsync(github, "crm-service", DelegationBroker.Secret));
        Assert.False(await broker.IsActiveAsync(mission, "crm-service", DelegationBroker.Secret));
        Assert.False(await broker.IsActiveAsync(crm, "agent-x", DelegationBroker.Secret));
    }

    [Fact]
    public async Task The_audit_log_tells_a_missions_whole_story()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var owner = broker;
        var mission = await broker.ExchangeOkAsync("agent-a", idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read"), purpose: "Weekly digest");
        var missionId = DelegationBroker.Claims(mission).GetProperty("mission").GetString()!;
        var missionB = await broker.ExchangeOkAsync("agent-b", mission);
        await broker.ExchangeOkAsync("agent-b", missionB, "urn:tessera:tool:crm");
        using var refused = await broker.ExchangeAsync("agent-b", missionB, "urn:tessera:tool:crm", "crm:export");
        await RevokeAsync(broker, "mission", missionId);

        var story = await broker.Store.Audit.QueryAsync(new Core.Audit.AuditQuery { Mission = missionId }, CancellationToken.None);
        Assert.Equal(["token.exchanged", "token.exchanged", "token.exchanged", "token.denied", "token.revoked"], story.Select(e => e.Record.Type));
        Assert.All(story, e => Assert.Equal("alice", e.Record.Principal));
        Assert.All(story.Take(4), e => Assert.Equal("Weekly digest", e.Record.Purpose));
        Assert.Equal(["agent-a", "agent-b"], story[2].Record.ActorChain);
        Assert.Equal(["crm:read"], story[2].Record.Scopes);
        Assert.Equal("crm", story[2].Record.Tool);
        Assert.Equal(["crm:export"], story[3].Record.Scopes);

        // The admin API (what `tessera audit query --mission` calls) tells the same story.
        using var response = await broker.AdminAsync(HttpMethod.Get, $"/admin/v1/audit?mission={missionId}");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(story.Select(e => e.Seq), json.RootElement.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("seq").GetInt64()));
    }

    internal static async Task RevokeAsync(TestBroker broker, string kind, string id)
    {
        using var response = await broker.AdminAsync(HttpMethod.Post, "/admin/v1/revocations", new { kind, id });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    internal static int Depth(JsonElement claims)
    {
        var depth = 0;
        var current = claims;
        while (current.TryGetProperty("act", out var act))
        {
            depth++;
            current = act;
        }

        return depth;
    }
}
