namespace Tessera.Server.Tests.Admin;

public sealed class KeyEndpointsTests
{
    [Fact]
    public async Task Listing_the_keys_is_audited_as_a_read_like_every_other_read()
    {
        await using var broker = await TestBroker.StartAsync();

        using var response = await broker.AdminAsync(HttpMethod.Get, "/admin/v1/keys");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var read = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == "admin.read");
        Assert.Equal("bootstrap-admin", read.Record.Principal);
        Assert.Equal("GET /admin/v1/keys", read.Record.Reason);
        Assert.Equal("allowed", read.Record.Outcome);
    }
}
