using Microsoft.Extensions.DependencyInjection;
using Tessera.Client.Tests.Infrastructure;

namespace Tessera.Client.Tests;

public sealed class TesseraTokenHandlerTests
{
    private const string SecureTool = """
          - id: secure
            upstream: {UPSTREAM}
            credential: { secret: crm-key, header: X-Api-Key }
            require_dpop: true
            scopes:
              read: { rules: [ "GET /**" ] }
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>An agent with a "crm" client through the proxy (and "secure", DPoP) and a "fake" one whose requests end at <paramref name="fake"/>.</summary>
    private static AgentHost Agent(TestBroker broker, bool dpop = false, HttpMessageHandler? fake = null) =>
        AgentHost.Create(broker, o =>
        {
            o.AgentId = "support-agent";
            o.UseClientSecret(TestBroker.SupportSecret);
            if (dpop)
            {
                o.UseDPoP();
            }
        }, (services, primary) =>
        {
            services.AddHttpClient("crm", c => c.BaseAddress = new Uri(TestBroker.Issuer + "/proxy/crm/")).ConfigurePrimaryHttpMessageHandler(primary).AddTesseraToken("crm", "read");
            services.AddHttpClient("secure", c => c.BaseAddress = new Uri(TestBroker.Issuer + "/proxy/secure/")).ConfigurePrimaryHttpMessageHandler(primary).AddTesseraToken("secure", "secure:read");
            if (fake is not null)
            {
                services.AddHttpClient("fake", c => c.BaseAddress = new Uri(TestBroker.Issuer + "/proxy/crm/")).ConfigurePrimaryHttpMessageHandler(() => fake).AddTesseraToken("crm", "crm:read");
            }
        });

    private static HttpClient Client(AgentHost host, string name) => host.Services.GetRequiredService<IHttpClientFactory>().CreateClient(name);

    [Fact]
    public async Task Calls_through_the_proxy_carry_a_cached_token_and_reach_the_upstream_with_the_tools_credential()
    {
        await using var proxy = await ProxyBroker.StartAsync();
        await using var host = Agent(proxy.Broker);
        var crm = Client(host, "crm");

        using var first = await crm.GetAsync("contacts/1", Ct);
        using var second = await crm.GetAsync("contacts/2", Ct);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(1, host.TokenRequests);
        var received = await proxy.Upstream.ArrivalAsync(2);
        Assert.Equal("/contacts/2", received.RawTarget);
        Assert.Equal(ProxyBroker.CrmKey, received.Headers["X-Api-Key"]);
        Assert.False(received.Headers.ContainsKey("Authorization"));
    }

    [Fact]
    public async Task A_revoked_token_is_dropped_and_the_call_retried_once_with_a_new_token()
    {
        await using var proxy = await ProxyBroker.StartAsync();
        await using var host = Agent(proxy.Broker);
        var crm = Client(host, "crm");
        using (var first = await crm.GetAsync("contacts/1", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var revoked = await host.Agent.GetTokenAsync("crm", ["crm:read"], Ct);
        using (var revocation = await proxy.AdminAsync(HttpMethod.Post, "/admin/v1/revocations", new { kind = "token", token = revoked.AccessToken }))
        {
            revocation.EnsureSuccessStatusCode();
        }

        using var second = await crm.GetAsync("contacts/2", Ct);
        using var third = await crm.GetAsync("contacts/3", Ct);

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal(2, host.TokenRequests);
        Assert.NotEqual(revoked.AccessToken, (await host.Agent.GetTokenAsync("crm", ["crm:read"], Ct)).AccessToken);
    }

    [Fact]
    public async Task A_second_invalid_token_answer_is_returned_after_one_renewal()
    {
        await using var broker = await TestBroker.StartAsync(realHttp: true);
        var fake = new AnsweringHandler(_ => Unauthorized("Bearer", "realm=\"tessera\", error=\"invalid_token\""));
        await using var host = Agent(broker, fake: fake);

        using var response = await Client(host, "fake").PostAsync("exports", new StringContent("{}", Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(2, fake.Sent);
        Assert.Equal(2, host.TokenRequests);
        Assert.Equal(["{}", "{}"], fake.Bodies);
    }

    [Fact]
    public async Task A_streamed_body_is_sent_once_and_its_401_returned()
    {
        await using var broker = await TestBroker.StartAsync(realHttp: true);
        var fake = new AnsweringHandler(_ => Unauthorized("Bearer", "error=\"invalid_token\""));
        await using var host = Agent(broker, fake: fake);

        using var response = await Client(host, "fake").PostAsync("exports", new StreamContent(new MemoryStream("{}"u8.ToArray())), Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(1, fake.Sent);
        Assert.Equal(1, host.TokenRequests);
    }

    [Fact]
    public async Task A_401_that_is_not_about_the_token_is_returned_as_it_is()
    {
        await using var broker = await TestBroker.StartAsync(realHttp: true);
        var fake = new AnsweringHandler(_ => Unauthorized("Basic", "realm=\"upstream\""));
        await using var host = Agent(broker, fake: fake);

        using var response = await Client(host, "fake").GetAsync("contacts/1", Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(1, fake.Sent);
    }

    [Fact]
    public async Task DPoP_calls_through_the_proxy_carry_a_fresh_proof_each()
    {
        await using var proxy = await ProxyBroker.StartAsync(SecureTool, agentScopes: ["secure:read"]);
        await using var host = Agent(proxy.Broker, dpop: true);
        var secure = Client(host, "secure");

        using var first = await secure.GetAsync("a?x=1", Ct);
        using var second = await secure.GetAsync("a?x=1", Ct);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(1, host.TokenRequests);
        var received = await proxy.Upstream.ArrivalAsync(2);
        Assert.False(received.Headers.ContainsKey("DPoP"));
    }

    [Fact]
    public async Task A_stale_nonce_at_the_proxy_is_renewed_once_and_the_call_succeeds()
    {
        await using var proxy = await ProxyBroker.StartAsync(SecureTool, agentScopes: ["secure:read"], extraAgents: "dpop: { use_nonce: true }");
        await using var host = Agent(proxy.Broker, dpop: true);
        var secure = Client(host, "secure");
        using (var first = await secure.GetAsync("a", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        Assert.Equal(2, host.TokenRequests); // use_dpop_nonce, then the retry with the nonce

        // The token lives on; the nonce it was proven with has expired (nonces last one to two minutes).
        proxy.Broker.Time.Advance(TimeSpan.FromMinutes(3));
        using var second = await secure.GetAsync("b", Ct);

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(2, proxy.Upstream.Received.Count);
        Assert.Equal(4, host.TokenRequests); // a new token, whose request is itself answered use_dpop_nonce once
    }

    [Fact]
    public async Task A_resource_that_answers_use_dpop_nonce_with_its_nonce_gets_one_retry_proven_with_it()
    {
        await using var broker = await TestBroker.StartAsync(realHttp: true);
        var proofs = new List<string>();
        var fake = new AnsweringHandler(request =>
        {
            proofs.Add(request.Headers.GetValues("DPoP").Single());
            if (proofs.Count > 1)
            {
                return new HttpResponseMessage(HttpStatusCode.OK);
            }

            var challenge = Unauthorized("DPoP", "error=\"use_dpop_nonce\", error_description=\"Resource server requires nonce in DPoP proof\"");
            challenge.Headers.Add("DPoP-Nonce", "resource-nonce-1");
            return challenge;
        });
        await using var host = Agent(broker, dpop: true, fake: fake);

        using var response = await Client(host, "fake").GetAsync("contacts/1", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, proofs.Count);
        Assert.Equal(1, host.TokenRequests);
        Assert.False(DelegationBroker.Claims(proofs[0]).TryGetProperty("nonce", out _));
        Assert.Equal("resource-nonce-1", DelegationBroker.Claims(proofs[1]).GetProperty("nonce").GetString());
        Assert.NotEqual(DelegationBroker.Claims(proofs[0]).GetProperty("jti").GetString(), DelegationBroker.Claims(proofs[1]).GetProperty("jti").GetString());
    }

    private static HttpResponseMessage Unauthorized(string scheme, string parameter)
    {
        var response = new HttpResponseMessage(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.Add(new AuthenticationHeaderValue(scheme, parameter));
        return response;
    }

    private sealed class AnsweringHandler(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        private int _sent;

        public int Sent => Volatile.Read(ref _sent);

        public List<string> Bodies { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _sent);
            if (request.Content is not null)
            {
                Bodies.Add(await request.Content.ReadAsStringAsync(cancellationToken));
            }

            return answer(request);
        }
    }
}
