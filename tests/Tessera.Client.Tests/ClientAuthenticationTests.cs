using Microsoft.IdentityModel.Tokens;
using Tessera.Client.Tests.Infrastructure;

namespace Tessera.Client.Tests;

public sealed class ClientAuthenticationTests
{
    private const string KeyAgent = "key-agent";
    private const string PodAgent = "pod-agent";
    private const string ClusterIssuer = "https://cluster.corp.test";
    private const string PodSub = "system:serviceaccount:support:agent";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Private_key_jwt_gets_a_token_with_a_fresh_assertion_each_time()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(key.ExportParameters(false))) { KeyId = "k1" });
        var jwks = $$"""{"keys":[{"kty":"EC","crv":"{{jwk.Crv}}","x":"{{jwk.X}}","y":"{{jwk.Y}}","kid":"k1","use":"sig","alg":"ES256"}]}""";
        await using var broker = await TestBroker.StartAsync(TestBroker.DefaultYaml($$"""
              - id: {{KeyAgent}}
                owner: platform@corp.example
                purpose: Sign in with a key
                expires: 2027-06-30
                auth:
                  jwks: {{jwks}}
                allowed_scopes: [ "crm:read", "crm:export" ]
            """));
        await using var host = AgentHost.Create(broker, o => { o.AgentId = KeyAgent; o.UsePrivateKeyJwt(key, "k1"); });

        var read = await host.Agent.GetTokenAsync("crm", ["crm:read"], Ct);
        // A second assertion within the same second: each jti is accepted once, so this proves a fresh one.
        var export = await host.Agent.GetTokenAsync("crm", ["crm:export"], Ct);

        Assert.Equal("crm:read", read.Scope);
        Assert.Equal("crm:export", export.Scope);
        Assert.Equal(KeyAgent, DelegationBroker.Claims(read.AccessToken).GetProperty("client_id").GetString());
    }

    [Fact]
    public async Task A_key_the_agent_does_not_have_is_invalid_client()
    {
        using var registered = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(registered.ExportParameters(false))) { KeyId = "k1" });
        var jwks = $$"""{"keys":[{"kty":"EC","crv":"{{jwk.Crv}}","x":"{{jwk.X}}","y":"{{jwk.Y}}","kid":"k1","use":"sig","alg":"ES256"}]}""";
        await using var broker = await TestBroker.StartAsync(TestBroker.DefaultYaml($$"""
              - id: {{KeyAgent}}
                owner: platform@corp.example
                purpose: Sign in with a key
                expires: 2027-06-30
                auth:
                  jwks: {{jwks}}
                allowed_scopes: [ "crm:read" ]
            """));
        await using var host = AgentHost.Create(broker, o => { o.AgentId = KeyAgent; o.UsePrivateKeyJwt(other, "k1"); });

        var refused = await Assert.ThrowsAsync<TesseraTokenException>(async () => await host.Agent.GetTokenAsync("crm", ["crm:read"], Ct));

        Assert.Equal("invalid_client", refused.Error);
    }

    [Fact]
    public async Task A_federated_assertion_from_the_delegate_is_sent_as_the_client_assertion()
    {
        var cluster = new TestIdp("cluster-key-1");
        var directory = TestBroker.NewDirectory();
        cluster.WriteJwks(Path.Combine(directory, "cluster"));
        await using var broker = await TestBroker.StartAsync(TestBroker.DefaultYaml($$"""
              - id: {{PodAgent}}
                owner: platform@corp.example
                purpose: Answer tickets from a pod
                expires: 2027-06-30
                auth:
                  federated: { idp: cluster, sub: "{{PodSub}}" }
                allowed_scopes: [ "crm:read" ]
            identity_providers:
              - id: cluster
                issuer: {{ClusterIssuer}}
                jwks_file: cluster/idp.jwks.json
                audience: kubernetes
            """), directory);
        var asked = 0;
        await using var host = AgentHost.Create(broker, o =>
        {
            o.AgentId = PodAgent;
            o.UseFederatedAssertion(_ =>
            {
                asked++;
                return ValueTask.FromResult(cluster.Mint(PodSub, broker.Time.GetUtcNow(), issuer: ClusterIssuer, audience: TestBroker.Issuer + "/oauth/token",
                    lifetime: TimeSpan.FromMinutes(5), extraClaims: new Dictionary<string, object> { ["jti"] = Guid.NewGuid().ToString("N") }));
            });
        });

        var token = await host.Agent.GetTokenAsync("crm", ["crm:read"], Ct);

        Assert.Equal(1, asked);
        Assert.Equal(PodAgent, DelegationBroker.Claims(token.AccessToken).GetProperty("client_id").GetString());
    }
}
