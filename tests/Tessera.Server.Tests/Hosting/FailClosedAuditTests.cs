namespace Tessera.Server.Tests.Hosting;

public sealed class FailClosedAuditTests
{
    [Fact]
    public async Task A_token_whose_issuance_cannot_be_recorded_is_never_handed_out()
    {
        FlakyStore? flaky = null;
        await using var broker = await TestBroker.StartAsync(wrapStore: s => flaky = new FlakyStore(s));
        flaky!.FailAppends = true;

        using var response = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", "crm:read"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("access_token", body, StringComparison.Ordinal);
        Assert.Contains("server_error", body, StringComparison.Ordinal);
        using var ready = await broker.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }

    [Theory]
    [InlineData("/oauth/token")]
    [InlineData("/oauth/introspect")]
    [InlineData("/oauth/revoke")]
    public async Task A_refusal_that_cannot_be_recorded_is_answered_503_not_with_the_refusal(string path)
    {
        FlakyStore? flaky = null;
        await using var broker = await TestBroker.StartAsync(wrapStore: s => flaky = new FlakyStore(s));
        flaky!.FailAppends = true;

        // A repeated parameter (refused by the endpoint) and a wrong secret (refused by client authentication).
        using var malformed = await broker.PostFormAsync(path, [new("token", "x"), new("token", "y"), new("grant_type", "client_credentials")],
            TestBroker.Basic("support-agent", TestBroker.SupportSecret));
        using var wrongSecret = await broker.PostFormAsync(path, [new("token", "x"), new("grant_type", "client_credentials")],
            TestBroker.Basic("support-agent", "not-the-secret"));

        await OAuthAssert.ErrorAsync(malformed, HttpStatusCode.ServiceUnavailable, "server_error");
        await OAuthAssert.ErrorAsync(wrongSecret, HttpStatusCode.ServiceUnavailable, "server_error");
    }

    [Fact]
    public async Task A_revocation_that_cannot_be_recorded_fails_and_the_chain_stays_intact_after_recovery()
    {
        FlakyStore? flaky = null;
        await using var broker = await TestBroker.StartAsync(wrapStore: s => flaky = new FlakyStore(s));
        var token = await broker.IssueAsync();
        flaky!.FailAppends = true;

        using var revoke = await broker.PostFormAsync("/oauth/revoke", [new("token", token)], TestBroker.Basic("support-agent", TestBroker.SupportSecret));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, revoke.StatusCode);

        flaky.FailAppends = false;
        Assert.True(await broker.IsActiveAsync(token));
        await broker.IssueAsync();
        using var ready = await broker.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var verification = await AuditVerifier.VerifyAsync(broker.Store.Audit, CancellationToken.None);
        Assert.True(verification.IsIntact, verification.Problem);
    }
}
