using Microsoft.Extensions.DependencyInjection;
using Tessera.Client.Tests.Infrastructure;

namespace Tessera.Client.Tests;

public sealed class TesseraMissionTests : IAsyncLifetime
{
    private TestBroker _broker = null!;
    private TestIdp _idp = null!;
    private AgentHost _a = null!;

    public async ValueTask InitializeAsync()
    {
        (_broker, _idp) = await DelegationBroker.StartAsync();
        _a = Host("agent-a");
    }

    public async ValueTask DisposeAsync()
    {
        await _a.DisposeAsync();
        await _broker.DisposeAsync();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly List<string?> _presented = [];

    /// <summary>An agent whose "crm" client ends at a handler that records the Authorization it was given.</summary>
    private AgentHost Host(string agent) => AgentHost.Create(_broker, o => { o.AgentId = agent; o.UseClientSecret(DelegationBroker.Secret); }, (services, _) =>
        services.AddHttpClient("crm", c => c.BaseAddress = new Uri(TestBroker.Issuer + "/proxy/crm/"))
            .ConfigurePrimaryHttpMessageHandler(() => new RecordingHandler(_presented))
            .AddTesseraToken("crm", "crm:read"));

    private sealed class RecordingHandler(List<string?> presented) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            presented.Add(request.Headers.Authorization?.Parameter);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
        }
    }

    private string Alice() => _idp.Mint("alice", _broker.Time.GetUtcNow(), scope: "crm:read crm:export");

    [Fact]
    public async Task Inside_a_mission_tool_tokens_are_exchanged_from_the_mission_token()
    {
        await using var mission = await _a.Agent.BeginMissionAsync("Answer ticket 4711", onBehalfOf: Alice(), cancellationToken: Ct);

        var token = await _a.Agent.GetTokenAsync("crm", ["crm:read"], Ct);

        Assert.Same(mission, _a.Agent.CurrentMission);
        Assert.StartsWith("m_", mission.Id, StringComparison.Ordinal);
        Assert.Equal("Answer ticket 4711", mission.Purpose);
        var claims = DelegationBroker.Claims(token.AccessToken);
        Assert.Equal(mission.Id, claims.GetProperty("mission").GetString());
        Assert.Equal("alice", claims.GetProperty("sub").GetString());
        Assert.Equal("agent-a", claims.GetProperty("act").GetProperty("sub").GetString());
        Assert.Equal("urn:tessera:tool:crm", claims.GetProperty("aud").GetString());
    }

    [Fact]
    public async Task Outside_the_mission_the_agents_own_tokens_are_used_again()
    {
        TesseraToken inside;
        await using (var mission = await _a.Agent.BeginMissionAsync("Answer ticket 4711", Alice(), cancellationToken: Ct))
        {
            inside = await _a.Agent.GetTokenAsync("crm", ["crm:read"], Ct);
        }

        var outside = await _a.Agent.GetTokenAsync("crm", ["crm:read"], Ct);

        Assert.Null(_a.Agent.CurrentMission);
        Assert.NotEqual(inside.AccessToken, outside.AccessToken);
        Assert.False(DelegationBroker.Claims(outside.AccessToken).TryGetProperty("mission", out _));
    }

    [Fact]
    public async Task Disposing_the_mission_revokes_its_token_and_every_tool_token_derived_from_it()
    {
        var mission = await _a.Agent.BeginMissionAsync("Answer ticket 4711", Alice(), cancellationToken: Ct);
        var tool = await _a.Agent.GetTokenAsync("crm", ["crm:read"], Ct);
        Assert.True((await _broker.IntrospectAsync(mission.Token)).GetProperty("active").GetBoolean());
        Assert.True((await _broker.IntrospectAsync(tool.AccessToken)).GetProperty("active").GetBoolean());

        await mission.DisposeAsync();

        Assert.False((await _broker.IntrospectAsync(mission.Token)).GetProperty("active").GetBoolean());
        Assert.False((await _broker.IntrospectAsync(tool.AccessToken)).GetProperty("active").GetBoolean());
        Assert.Null(_a.Agent.CurrentMission);
    }

    [Fact]
    public async Task A_nested_mission_restores_the_outer_one_when_it_ends()
    {
        await using var outer = await _a.Agent.BeginMissionAsync("outer", Alice(), cancellationToken: Ct);
        await using (var inner = await _a.Agent.BeginMissionAsync("inner", Alice(), cancellationToken: Ct))
        {
            Assert.Same(inner, _a.Agent.CurrentMission);
        }

        Assert.Same(outer, _a.Agent.CurrentMission);
    }

    [Fact]
    public async Task The_mission_flows_into_tasks_started_inside_it_and_not_to_callers_outside()
    {
        var mission = await StartInAnotherMethodAsync();

        // A mission begun inside an awaited method belongs to that method's flow only... unless it returned it: the
        // caller's flow never saw it set, because the AsyncLocal change was made in the callee's flow.
        Assert.Null(_a.Agent.CurrentMission);
        await mission.DisposeAsync();

        await using var here = await _a.Agent.BeginMissionAsync("here", Alice(), cancellationToken: Ct);
        var seen = await Task.Run(() => _a.Agent.CurrentMission, Ct);
        Assert.Same(here, seen);
    }

    private async Task<TesseraMission> StartInAnotherMethodAsync()
    {
        var mission = await _a.Agent.BeginMissionAsync("elsewhere", Alice(), cancellationToken: Ct);
        Assert.Same(mission, _a.Agent.CurrentMission);
        return mission;
    }

    [Fact]
    public async Task The_handler_uses_the_mission_inside_it()
    {
        await using var mission = await _a.Agent.BeginMissionAsync("Answer ticket 4711", Alice(), cancellationToken: Ct);
        var crm = _a.Services.GetRequiredService<IHttpClientFactory>().CreateClient("crm");

        using var response = await crm.GetAsync("contacts/1", Ct);

        var presented = Assert.Single(_presented);
        Assert.Equal(mission.Id, DelegationBroker.Claims(presented!).GetProperty("mission").GetString());
        Assert.Equal(2, _a.TokenRequests); // the mission, then one exchange
    }

    [Fact]
    public async Task A_delegate_joins_with_the_mission_token_and_works_in_the_same_mission()
    {
        await using var b = Host("agent-b");
        await using var mission = await _a.Agent.BeginMissionAsync("Answer ticket 4711", Alice(), cancellationToken: Ct);

        await using var joined = await b.Agent.JoinMissionAsync(mission.Token, Ct);
        var token = await b.Agent.GetTokenAsync("crm", ["crm:read"], Ct);

        Assert.Equal(mission.Id, joined.Id);
        var claims = DelegationBroker.Claims(token.AccessToken);
        Assert.Equal(mission.Id, claims.GetProperty("mission").GetString());
        Assert.Equal("agent-b", claims.GetProperty("act").GetProperty("sub").GetString());
        Assert.Equal("agent-a", claims.GetProperty("act").GetProperty("act").GetProperty("sub").GetString());
    }

    [Fact]
    public async Task A_delegate_ending_its_part_revokes_its_own_tokens_and_leaves_the_mission_running()
    {
        await using var b = Host("agent-b");
        await using var mission = await _a.Agent.BeginMissionAsync("Answer ticket 4711", Alice(), cancellationToken: Ct);
        var joined = await b.Agent.JoinMissionAsync(mission.Token, Ct);
        var delegated = await b.Agent.GetTokenAsync("crm", ["crm:read"], Ct);

        await joined.DisposeAsync();

        Assert.False((await _broker.IntrospectAsync(joined.Token)).GetProperty("active").GetBoolean());
        Assert.False((await _broker.IntrospectAsync(delegated.AccessToken)).GetProperty("active").GetBoolean());
        Assert.True((await _broker.IntrospectAsync(mission.Token)).GetProperty("active").GetBoolean());
        Assert.Null(b.Agent.CurrentMission);
    }

    [Fact]
    public async Task Joining_without_may_delegate_to_is_refused_and_leaves_no_mission_current()
    {
        await using var x = Host("agent-x");
        await using var mission = await _a.Agent.BeginMissionAsync("Answer ticket 4711", Alice(), cancellationToken: Ct);

        var refused = await Assert.ThrowsAsync<TesseraTokenException>(() => x.Agent.JoinMissionAsync(mission.Token, Ct));

        Assert.Equal("invalid_request", refused.Error);
        Assert.Null(x.Agent.CurrentMission);
    }
}
