using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Tessera.Client.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A real Tessera broker on a loopback port whose issuer is that very address, so a tool can fetch its
/// metadata and JWKS as it would in production. The crm tool's own client is <c>crm-service</c>;
/// support-agent may hand alice's work on to helper-agent. <see cref="IntrospectionDown"/> makes the
/// broker drop every introspection request's connection (an outage the tool must fail closed on).
/// </summary>
public sealed class ToolBroker : IAsyncDisposable
{
    public const string Secret = "tool-broker-secret-0123456789abcdef";
    public const string Audience = "urn:tessera:tool:crm";

    private ToolBroker(TestBroker broker, TestIdp idp, Outage outage)
    {
        Broker = broker;
        Idp = idp;
        _outage = outage;
    }

    private readonly Outage _outage;

    public TestBroker Broker { get; }
    public TestIdp Idp { get; }
    public TestClock Time => (TestClock)Broker.Time;
    public Uri Issuer => Broker.Address!;
    public string IssuerText => Broker.Config.Server.Issuer;

    /// <summary>How many times the JWKS has been fetched (by any tool).</summary>
    public int JwksFetches => _outage.JwksFetches;

    public bool IntrospectionDown
    {
        get => _outage.Down;
        set => _outage.Down = value;
    }

    public static async Task<ToolBroker> StartAsync()
    {
        var idp = new TestIdp();
        var directory = idp.NewBrokerDirectory();
        var port = FreePort();
        var outage = new Outage();
        var yaml = $$"""
            server:
              listen: http://127.0.0.1:{{port}}
            storage: sqlite:data/tessera.db
            data_dir: data
            tokens: { default_ttl: 5m, max_ttl: 1h }
            {{TestIdp.Yaml}}
            approver_groups:
              - { id: approvers, members: [ { idp: corp, sub: bob } ] }
            principals:
              - { idp: corp, sub: alice, scopes: [ "crm:read", "crm:export", "crm:delete" ] }
            tools:
              - id: crm
                client_id: crm-service
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
                  export: { rules: [ "POST /exports" ] }
                  delete: { rules: [ "DELETE /contacts/*" ], approval: { group: approvers, ttl: 2m, max_uses: 1 } }
              - id: billing
                scopes:
                  read: { rules: [ "GET /**" ] }
            agents:
            {{Agent("support-agent", "[ \"crm:read\", \"crm:export\", \"crm:delete\", \"billing:read\" ]", "[ helper-agent ]")}}
            {{Agent("helper-agent", "[ \"crm:read\" ]", "[ ]")}}
            {{Agent("crm-service", "[ ]", "[ ]")}}
            """;
        var broker = await TestBroker.StartAsync(yaml, directory, realHttp: true, configure: b =>
        {
            b.WebHost.UseUrls($"http://127.0.0.1:{port}");
            b.Services.AddSingleton<IStartupFilter>(outage);
        });
        return new ToolBroker(broker, idp, outage);
    }

    private static string Agent(string id, string scopes, string delegates) => $$"""
          - id: {{id}}
            owner: {{id}}-owner@corp.example
            purpose: Test agent {{id}}
            expires: 2027-06-30
            auth: { client_secret_sha256: {{TestBroker.Sha256Hex(Secret)}} }
            allowed_scopes: {{scopes}}
            max_ttl: 10m
            may_delegate_to: {{delegates}}
        """;

    /// <summary>A loopback port free right now, for a broker whose issuer must name its own address before it starts.</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>A client-credentials token of support-agent for <paramref name="scope"/>, bound to <paramref name="dpop"/> when given.</summary>
    public async Task<string> TokenAsync(string scope = "crm:read", DpopKey? dpop = null, string agent = "support-agent")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", scope)]),
        };
        request.Headers.Authorization = TestBroker.Basic(agent, Secret);
        if (dpop is not null)
        {
            request.Headers.Add("DPoP", dpop.Proof("POST", IssuerText + "/oauth/token", Time.GetUtcNow()));
        }

        using var response = await Broker.Client.SendAsync(request);
        return await OAuthAssert.TokenAsync(response);
    }

    /// <summary>alice's work: support-agent takes her token for a mission, helper-agent exchanges the mission token for a crm token.</summary>
    public async Task<string> DelegatedTokenAsync(string purpose)
    {
        var alice = Idp.Mint("alice", Time.GetUtcNow(), scope: "crm:read crm:export",
            extraClaims: new Dictionary<string, object> { ["may_act"] = new Dictionary<string, object> { ["sub"] = "support-agent" } });
        var mission = await ExchangeAsync("support-agent", alice, "urn:ietf:params:oauth:token-type:jwt", resource: null, purpose);
        return await ExchangeAsync("helper-agent", mission, "urn:ietf:params:oauth:token-type:access_token", Audience, purpose: null);
    }

    private async Task<string> ExchangeAsync(string agent, string subject, string subjectType, string? resource, string? purpose)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            new("subject_token", subject),
            new("subject_token_type", subjectType),
        };
        if (resource is not null)
        {
            form.Add(new("resource", resource));
        }

        if (purpose is not null)
        {
            form.Add(new("purpose", purpose));
        }

        using var response = await Broker.PostFormAsync("/oauth/token", form, TestBroker.Basic(agent, Secret));
        return await OAuthAssert.TokenAsync(response);
    }

    /// <summary>
    /// support-agent asks for the approval-gated <c>crm:delete</c> (with <paramref name="parameters"/>), bob
    /// approves, and the agent redeems the token after one polling interval.
    /// </summary>
    public async Task<string> ApprovedTokenAsync(params (string Name, string Value)[] parameters)
    {
        using var ask = await Broker.ClientCredentialsAsync("support-agent", Secret, [("scope", "crm:delete"), .. parameters]);
        using var asked = JsonDocument.Parse(await OAuthAssert.ErrorAsync(ask, HttpStatusCode.BadRequest, "approval_required"));
        var authReqId = asked.RootElement.GetProperty("auth_req_id").GetString()!;

        using (var approve = await Broker.SendAsync(HttpMethod.Post, $"/admin/v1/approvals/{authReqId}/approve", Idp.MintAdmin("bob", Time.GetUtcNow())))
        {
            Assert.True(approve.IsSuccessStatusCode, await approve.Content.ReadAsStringAsync());
        }

        Time.Advance(TimeSpan.FromSeconds(5));
        using var poll = await Broker.PostFormAsync("/oauth/token",
            [new("grant_type", "urn:openid:params:grant-type:ciba"), new("auth_req_id", authReqId)], TestBroker.Basic("support-agent", Secret));
        return await OAuthAssert.TokenAsync(poll);
    }

    /// <summary>Revokes <paramref name="token"/> through the admin API, as an operator would.</summary>
    public async Task RevokeAsync(string token)
    {
        using var response = await Broker.AdminAsync(HttpMethod.Post, "/admin/v1/revocations", new { kind = "token", token });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    public ValueTask DisposeAsync() => Broker.DisposeAsync();

    /// <summary>Drops the connection of every introspection request while <see cref="Down"/> is set; counts JWKS fetches.</summary>
    private sealed class Outage : IStartupFilter
    {
        private int _jwksFetches;

        public volatile bool Down;

        public int JwksFetches => Volatile.Read(ref _jwksFetches);

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (context.Request.Path.StartsWithSegments("/.well-known/jwks.json"))
                {
                    Interlocked.Increment(ref _jwksFetches);
                }

                if (Down && context.Request.Path.StartsWithSegments("/oauth/introspect"))
                {
                    context.Abort();
                    return Task.CompletedTask;
                }

                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
