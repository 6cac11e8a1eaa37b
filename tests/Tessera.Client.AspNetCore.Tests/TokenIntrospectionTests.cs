namespace Tessera.Client.AspNetCore.Tests;

public sealed class TokenIntrospectionTests : ToolTestBase
{
    private Task<TestTool> IntrospectingToolAsync(string secret = ToolBroker.Secret, TimeSpan? cache = null) =>
        TestTool.StartAsync(Broker, o =>
        {
            o.Introspection = new("crm-service", secret);
            o.IntrospectionCacheDuration = cache ?? TimeSpan.FromSeconds(30);
        });

    [Fact]
    public async Task An_active_token_passes_introspection()
    {
        await using var tool = await IntrospectingToolAsync();
        var token = await Broker.TokenAsync("crm:read");

        using var response = await tool.GetBearerAsync("/contacts/1", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_revoked_token_is_refused_once_the_cached_answer_has_expired()
    {
        await using var tool = await IntrospectingToolAsync();
        var token = await Broker.TokenAsync("crm:read");
        using (var before = await tool.GetBearerAsync("/contacts/1", token))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await Broker.RevokeAsync(token);

        // The trade-off of the cache: for up to IntrospectionCacheDuration the tool still trusts its last answer...
        Broker.Time.Advance(TimeSpan.FromSeconds(29));
        using (var cached = await tool.GetBearerAsync("/contacts/1", token))
        {
            Assert.Equal(HttpStatusCode.OK, cached.StatusCode);
        }

        // ...then it asks again and hears that the token is revoked.
        Broker.Time.Advance(TimeSpan.FromSeconds(2));
        using var response = await tool.GetBearerAsync("/contacts/1", token);

        Assert.Contains("revoked", AssertUnauthorized(response, "Bearer", "invalid_token"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_revoked_before_its_first_use_is_refused_at_once()
    {
        await using var tool = await IntrospectingToolAsync();
        var token = await Broker.TokenAsync("crm:read");
        await Broker.RevokeAsync(token);

        using var response = await tool.GetBearerAsync("/contacts/1", token);

        AssertUnauthorized(response, "Bearer", "invalid_token");
    }

    [Fact]
    public async Task Without_a_cache_every_request_asks_so_revocation_is_seen_at_once()
    {
        await using var tool = await IntrospectingToolAsync(cache: TimeSpan.Zero);
        var token = await Broker.TokenAsync("crm:read");
        using (var before = await tool.GetBearerAsync("/contacts/1", token))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await Broker.RevokeAsync(token);
        using var response = await tool.GetBearerAsync("/contacts/1", token);

        AssertUnauthorized(response, "Bearer", "invalid_token");
    }

    [Fact]
    public async Task A_revoked_mission_ends_the_delegated_tokens_under_it()
    {
        await using var tool = await IntrospectingToolAsync(cache: TimeSpan.Zero);
        var token = await Broker.DelegatedTokenAsync("Answer ticket 4711");
        var mission = Claims(token).GetProperty("mission").GetString();

        using (var revoke = await Broker.Broker.AdminAsync(HttpMethod.Post, "/admin/v1/revocations", new { kind = "mission", id = mission }))
        {
            Assert.True(revoke.IsSuccessStatusCode, await revoke.Content.ReadAsStringAsync());
        }

        using var response = await tool.GetBearerAsync("/contacts/1", token);

        AssertUnauthorized(response, "Bearer", "invalid_token");
    }

    [Fact]
    public async Task An_unreachable_introspection_endpoint_fails_closed_with_503()
    {
        await using var tool = await IntrospectingToolAsync();
        var token = await Broker.TokenAsync("crm:read");
        Broker.IntrospectionDown = true;

        using var response = await tool.GetBearerAsync("/contacts/1", token);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains(tool.Logs.Lines, l => l.Contains("could not be reached", StringComparison.Ordinal) && l.Contains(Claims(token).GetProperty("jti").GetString()!, StringComparison.Ordinal));

        // Back up: the same token passes (nothing was cached from the failure).
        Broker.IntrospectionDown = false;
        using var after = await tool.GetBearerAsync("/contacts/1", token);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task An_active_answer_is_not_trusted_after_the_cache_duration_when_the_endpoint_goes_down()
    {
        await using var tool = await IntrospectingToolAsync();
        var token = await Broker.TokenAsync("crm:read");
        using (var before = await tool.GetBearerAsync("/contacts/1", token))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        Broker.IntrospectionDown = true;
        Broker.Time.Advance(TimeSpan.FromSeconds(31));
        using var response = await tool.GetBearerAsync("/contacts/1", token);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    [Fact]
    public async Task Introspection_with_a_wrong_client_secret_fails_closed_and_says_so_in_the_log()
    {
        await using var tool = await IntrospectingToolAsync(secret: "wrong-secret-0123456789abcdef");
        var token = await Broker.TokenAsync("crm:read");

        using var response = await tool.GetBearerAsync("/contacts/1", token);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains(tool.Logs.Lines, l => l.Contains("refused to introspect", StringComparison.Ordinal));
        Assert.DoesNotContain("wrong-secret", tool.Logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_is_not_the_tools_own_sees_every_token_inactive_and_so_refuses_it()
    {
        // helper-agent authenticates fine but is not crm's client_id: Tessera answers {"active":false}.
        await using var tool = await TestTool.StartAsync(Broker, o => o.Introspection = new("helper-agent", ToolBroker.Secret));
        var token = await Broker.TokenAsync("crm:read");

        using var response = await tool.GetBearerAsync("/contacts/1", token);

        AssertUnauthorized(response, "Bearer", "invalid_token");
    }

    [Fact]
    public void The_introspection_client_never_prints_its_secret()
    {
        var client = new TesseraIntrospectionClient("crm-service", ToolBroker.Secret);

        Assert.DoesNotContain(ToolBroker.Secret, client.ToString(), StringComparison.Ordinal);
        Assert.Contains("crm-service", client.ToString(), StringComparison.Ordinal);
    }
}
