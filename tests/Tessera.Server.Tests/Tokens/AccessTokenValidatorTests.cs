using Tessera.Core.Tokens;

namespace Tessera.Server.Tests.Tokens;

public sealed class AccessTokenValidatorTests
{
    [Fact]
    public async Task A_remembered_token_still_expires_and_is_still_revocable()
    {
        await using var broker = await TestBroker.StartAsync();
        var validator = broker.Service<AccessTokenValidator>();
        var token = await broker.IssueAsync();
        Assert.Equal(TokenStatus.Active, (await validator.ValidateAsync(token, CancellationToken.None)).Status);

        using var revoke = await broker.PostFormAsync("/oauth/revoke", [new("token", token)], TestBroker.Basic("support-agent", TestBroker.SupportSecret));
        Assert.Equal(TokenStatus.Revoked, (await validator.ValidateAsync(token, CancellationToken.None)).Status);

        var other = await broker.IssueAsync();
        Assert.Equal(TokenStatus.Active, (await validator.ValidateAsync(other, CancellationToken.None)).Status);
        broker.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(TokenStatus.Expired, (await validator.ValidateAsync(other, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_copied_signature_under_a_forged_payload_is_never_taken_from_memory()
    {
        await using var broker = await TestBroker.StartAsync();
        var validator = broker.Service<AccessTokenValidator>();
        var token = await broker.IssueAsync();
        Assert.Equal(TokenStatus.Active, (await validator.ValidateAsync(token, CancellationToken.None)).Status);

        var parts = token.Split('.');
        var payload = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1])).Replace("crm:read", "crm:export", StringComparison.Ordinal);
        var forged = $"{parts[0]}.{System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload))}.{parts[2]}";
        Assert.Equal(TokenStatus.InvalidSignature, (await validator.ValidateAsync(forged, CancellationToken.None)).Status);

        var flipped = token[..^2] + (token[^2] == 'A' ? 'B' : 'A') + token[^1];
        Assert.NotEqual(TokenStatus.Active, (await validator.ValidateAsync(flipped, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_token_dies_when_its_agents_registration_expires()
    {
        await using var broker = await TestBroker.StartAsync(TestBroker.DefaultYaml("""
              - id: short-lived
                owner: temp@corp.example
                purpose: One afternoon of work
                expires: 2026-11-29T12:05:00Z
                auth: { client_secret_sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae }
                allowed_scopes: [ "crm:read" ]
                max_ttl: 10m
            """));
        using var response = await broker.ClientCredentialsAsync("short-lived", "foo", ("scope", "crm:read"));
        using var json = await TestBroker.ReadJsonAsync(response);
        var token = json.RootElement.GetProperty("access_token").GetString()!;
        var validator = broker.Service<AccessTokenValidator>();
        Assert.Equal(TokenStatus.Active, (await validator.ValidateAsync(token, CancellationToken.None)).Status);

        broker.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(TokenStatus.Revoked, (await validator.ValidateAsync(token, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_token_dies_when_its_agent_is_removed_from_the_configuration()
    {
        var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync();
        var directory = broker.Directory;
        var time = broker.Time;
        await broker.StopForRestartAsync();

        var withoutSupport = TestBroker.DefaultYaml().Replace("- id: support-agent", "- id: other-agent", StringComparison.Ordinal);
        await using var restarted = await TestBroker.StartAsync(withoutSupport, directory, time);
        var validation = await restarted.Service<AccessTokenValidator>().ValidateAsync(token, CancellationToken.None);
        Assert.Equal(TokenStatus.Revoked, validation.Status);
    }
}
