using Tessera.Core.Leases;

namespace Tessera.Core.Tests.Leases;

/// <summary>Which live leases a new configuration no longer gives as they stand (ended by the reload).</summary>
public sealed class LeaseReviewTests
{
    private const string WriteGrant = "GRANT INSERT ON analytics.orders TO {{role}}";

    private static string Yaml(string connection = "{ host: db.internal, port: 5432, database: analytics }", string read = "GRANT SELECT ON analytics.orders TO {{role}}",
        string supportScopes = "\"warehouse:read\", \"warehouse:write\"", string helperScopes = "\"warehouse:read\"", string principals = "") => $$"""
        server: { listen: http://127.0.0.1:8080, issuer: https://tessera.example }
        tools:
          - id: warehouse
            protocol: postgres
            connection: {{connection}}
            admin_secret: warehouse-admin
            scopes:
              read:  { grants: [ "{{read}}" ] }
              write: { grants: [ "{{WriteGrant}}" ] }
        agents:
          - { id: support-agent, owner: o@corp.example, purpose: p, expires: 2027-06-30, auth: { client_secret_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 }, allowed_scopes: [ {{supportScopes}} ] }
          - { id: helper-agent, owner: o@corp.example, purpose: p, expires: 2027-06-30, auth: { client_secret_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 }, allowed_scopes: [ {{helperScopes}} ] }
        identity_providers:
          - { id: corp, issuer: https://idp.corp.example, jwks_uri: https://idp.corp.example/jwks, audience: tessera }
        {{principals}}
        """;

    private static ConfigSnapshot Snapshot(string yaml) =>
        ConfigSnapshot.Build(ConfigLoader.Load(yaml, "tessera.yaml", Path.GetTempPath()), TimeProvider.System);

    private static readonly ConfigSnapshot Before = Snapshot(Yaml());

    private static Lease Lease(string scope = "warehouse:read", string? principal = null, params string[] actors) => new()
    {
        Id = "ls_1",
        Tool = "warehouse",
        Username = "tessera_ls_1",
        Status = LeaseStatus.Active,
        Agent = "support-agent",
        ActorChain = actors,
        Principal = principal,
        Jti = "jti-1",
        TokenIssuedAt = 0,
        Scopes = [scope],
        CreatedAt = DateTimeOffset.UnixEpoch,
        ExpiresAt = DateTimeOffset.UnixEpoch.AddMinutes(15),
    };

    [Fact]
    public void A_lease_stands_under_the_same_file()
    {
        Assert.Null(LeaseReview.Withdrawn(Lease(), Before, Snapshot(Yaml())));
        Assert.Null(LeaseReview.Withdrawn(Lease("warehouse:write"), Before, Snapshot(Yaml(read: "GRANT SELECT ON analytics.summary TO {{role}}"))));
    }

    [Theory]
    [InlineData("{ host: db2.internal, port: 5432, database: analytics }")]
    [InlineData("{ host: db.internal, port: 5433, database: analytics }")]
    [InlineData("{ host: db.internal, port: 5432, database: finance }")]
    public void A_tool_pointed_at_another_database_withdraws_its_leases(string connection) =>
        Assert.Equal("the tool's database changed", LeaseReview.Withdrawn(Lease(), Before, Snapshot(Yaml(connection: connection))));

    [Fact]
    public void Changed_grants_withdraw_the_leases_holding_the_scope() =>
        Assert.Equal("grants of warehouse:read changed", LeaseReview.Withdrawn(Lease(), Before, Snapshot(Yaml(read: "GRANT SELECT ON analytics.orders, analytics.refunds TO {{role}}"))));

    [Fact]
    public void A_scope_taken_from_the_agent_or_from_an_actor_of_the_chain_withdraws_the_lease()
    {
        Assert.Equal("warehouse:write no longer allowed to support-agent",
            LeaseReview.Withdrawn(Lease("warehouse:write"), Before, Snapshot(Yaml(supportScopes: "\"warehouse:read\""))));
        Assert.Equal("warehouse:read no longer allowed to helper-agent",
            LeaseReview.Withdrawn(Lease("warehouse:read", actors: "helper-agent"), Before, Snapshot(Yaml(helperScopes: ""))));
        Assert.Equal("warehouse:read no longer allowed to gone-agent", LeaseReview.Withdrawn(Lease("warehouse:read", actors: "gone-agent"), Before, Before));
    }

    [Fact]
    public void A_principals_ceiling_below_the_scope_withdraws_the_lease_issued_on_their_behalf_and_no_other()
    {
        var after = Snapshot(Yaml(principals: "principals:\n  - { idp: corp, sub: alice, scopes: [ \"warehouse:write\" ] }"));

        Assert.Equal("warehouse:read beyond the ceiling of principal alice", LeaseReview.Withdrawn(Lease(principal: "alice"), Before, after));
        Assert.Null(LeaseReview.Withdrawn(Lease(principal: "bob"), Before, after));
        Assert.Null(LeaseReview.Withdrawn(Lease("warehouse:write", principal: "alice"), Before, after));
    }
}
