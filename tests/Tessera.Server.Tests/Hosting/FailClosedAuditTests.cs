using System.Net;
using Tessera.Core.Audit;
using Tessera.Server.Tests.Infrastructure;

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
        Assert.True(await SigningKeyRotationTests.IsActiveAsync(broker, token));
        await broker.IssueAsync();
        using var ready = await broker.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var verification = await AuditVerifier.VerifyAsync(broker.Store.Audit, CancellationToken.None);
        Assert.True(verification.IsIntact, verification.Problem);
    }
}
