namespace Tessera.Server.Tests.OAuth;

/// <summary>
/// Client secrets with their own expiry (<c>auth.client_secrets</c>): a secret is rotated by adding the new
/// one, letting both work while clients move over, and letting the old one expire.
/// </summary>
public sealed class ClientSecretRotationTests
{
    private const string AgentId = "rotating-agent";
    private const string OldSecret = "old-secret-0123456789abcdef0123456789";
    private const string NewSecret = "new-secret-0123456789abcdef0123456789";
    private const string LegacySecret = "legacy-secret-0123456789abcdef012345";

    /// <summary>The broker's clock starts 2026-11-29 12:00 UTC; the old secret expires 2026-12-01 00:00 UTC.</summary>
    private static readonly DateTimeOffset OldSecretExpiry = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static Task<TestBroker> StartAsync(string agentExpires = "2027-06-30") => TestBroker.StartAsync(TestBroker.DefaultYaml($$"""
          - id: {{AgentId}}
            owner: platform@corp.example
            purpose: Rotate its secret without downtime
            expires: {{agentExpires}}
            auth:
              client_secret_sha256: {{TestBroker.Sha256Hex(LegacySecret)}}
              client_secrets:
                - { sha256: {{TestBroker.Sha256Hex(OldSecret)}}, expires: 2026-12-01 }
                - { sha256: {{TestBroker.Sha256Hex(NewSecret)}} }
            allowed_scopes: [ "crm:read" ]
        """));

    private static Task<HttpResponseMessage> AuthenticateAsync(TestBroker broker, string secret) =>
        broker.ClientCredentialsAsync(AgentId, secret, ("scope", "crm:read"));

    [Fact]
    public async Task Every_configured_secret_works_until_its_expiry()
    {
        await using var broker = await StartAsync();

        foreach (var secret in new[] { OldSecret, NewSecret, LegacySecret })
        {
            using var response = await AuthenticateAsync(broker, secret);
            await OAuthAssert.TokenAsync(response);
        }
    }

    [Fact]
    public async Task After_the_old_secrets_expiry_only_the_others_work()
    {
        await using var broker = await StartAsync();
        broker.Time.SetUtcNow(OldSecretExpiry - TimeSpan.FromSeconds(1));
        using (var lastSecond = await AuthenticateAsync(broker, OldSecret))
        {
            await OAuthAssert.TokenAsync(lastSecond);
        }

        broker.Time.SetUtcNow(OldSecretExpiry);
        using var unknown = await broker.ClientCredentialsAsync("no-such-agent", OldSecret, ("scope", "crm:read"));
        using var old = await AuthenticateAsync(broker, OldSecret);
        using var fresh = await AuthenticateAsync(broker, NewSecret);
        using var legacy = await AuthenticateAsync(broker, LegacySecret);

        // The expired secret gets exactly the body of an unknown client; only the audit log says why.
        Assert.Equal(
            await OAuthAssert.ErrorAsync(unknown, HttpStatusCode.Unauthorized, "invalid_client"),
            await OAuthAssert.ErrorAsync(old, HttpStatusCode.Unauthorized, "invalid_client"));
        await OAuthAssert.TokenAsync(fresh);
        await OAuthAssert.TokenAsync(legacy);
        var denied = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == "token.denied" && e.Record.Agent == AgentId);
        Assert.Equal("invalid_client: client secret expired", denied.Record.Reason);
    }

    [Fact]
    public async Task A_wrong_secret_is_still_a_wrong_secret_among_several()
    {
        await using var broker = await StartAsync();

        using var response = await AuthenticateAsync(broker, "not-any-of-them-0123456789abcdef");

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        var denied = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == "token.denied");
        Assert.Equal("invalid_client: wrong client secret", denied.Record.Reason);
    }

    [Fact]
    public async Task A_secret_without_expiry_still_ends_with_the_agents_registration()
    {
        await using var broker = await StartAsync(agentExpires: "2026-12-15");

        broker.Time.SetUtcNow(new DateTimeOffset(2026, 12, 15, 0, 0, 0, TimeSpan.Zero));
        using var response = await AuthenticateAsync(broker, NewSecret);

        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        var denied = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == "token.denied");
        Assert.Equal("invalid_client: agent registration expired", denied.Record.Reason);
    }

    [Fact]
    public async Task Secrets_work_with_client_secret_post_as_with_basic()
    {
        await using var broker = await StartAsync();
        broker.Time.SetUtcNow(OldSecretExpiry);

        using var fresh = await broker.PostFormAsync("/oauth/token",
            [new("grant_type", "client_credentials"), new("scope", "crm:read"), new("client_id", AgentId), new("client_secret", NewSecret)]);
        using var old = await broker.PostFormAsync("/oauth/token",
            [new("grant_type", "client_credentials"), new("scope", "crm:read"), new("client_id", AgentId), new("client_secret", OldSecret)]);

        await OAuthAssert.TokenAsync(fresh);
        await OAuthAssert.ErrorAsync(old, HttpStatusCode.Unauthorized, "invalid_client");
    }
}
