using Tessera.Client.Tests.Infrastructure;

namespace Tessera.Client.Tests;

public sealed class TokenEndpointClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NonceYaml => TestBroker.DefaultYaml() + "\ndpop: { use_nonce: true }\n";

    [Fact]
    public async Task With_DPoP_the_token_is_bound_to_the_agents_key()
    {
        await using var broker = await TestBroker.StartAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var host = AgentHost.Create(broker, o => { o.AgentId = "support-agent"; o.UseClientSecret(TestBroker.SupportSecret); o.UseDPoP(key); });

        var token = await host.Agent.GetTokenAsync("vault", ["vault:read"], Ct);

        Assert.Equal("DPoP", token.TokenType);
        Assert.Equal(Jwk.Thumbprint(key), DelegationBroker.Claims(token.AccessToken).GetProperty("cnf").GetProperty("jkt").GetString());
    }

    [Fact]
    public async Task Use_dpop_nonce_is_answered_by_one_retry_with_the_servers_nonce_which_is_kept_for_the_next_request()
    {
        await using var broker = await TestBroker.StartAsync(NonceYaml);
        await using var host = AgentHost.Create(broker, o => { o.AgentId = "support-agent"; o.UseClientSecret(TestBroker.SupportSecret); o.UseDPoP(); });

        var first = await host.Agent.GetTokenAsync("vault", ["vault:read"], Ct);
        Assert.Equal(2, host.TokenRequests);
        var second = await host.Agent.GetTokenAsync("crm", ["crm:read"], Ct);

        Assert.Equal("DPoP", first.TokenType);
        Assert.Equal("DPoP", second.TokenType);
        Assert.Equal(3, host.TokenRequests);
    }

    [Fact]
    public async Task A_failed_discovery_is_a_typed_error_and_no_token_request_is_sent()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var host = AgentHost.Create(broker, o =>
        {
            o.Authority = new Uri("http://tessera.test/other");
            o.AgentId = "support-agent";
            o.UseClientSecret(TestBroker.SupportSecret);
        });

        var refused = await Assert.ThrowsAsync<TesseraTokenException>(async () => await host.Agent.GetTokenAsync("crm", ["crm:read"], Ct));

        Assert.Equal("discovery_failed", refused.Error);
        Assert.Equal(0, host.TokenRequests);
    }
}
