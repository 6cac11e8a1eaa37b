using Microsoft.AspNetCore.Routing;

namespace Tessera.Server.Tests.Admin;

public sealed class AdminAuditTests
{
    [Fact]
    public async Task Every_get_route_of_the_admin_api_records_one_read_by_its_caller()
    {
        var (broker, _) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var routes = ((IEndpointRouteBuilder)broker.App).DataSources
            .SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/admin/v1/", StringComparison.Ordinal)
                && e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods.Contains("GET"))
            .Select(e => e.RoutePattern.RawText!)
            .ToList();
        Assert.Equal(["/admin/v1/agents", "/admin/v1/approvals", "/admin/v1/audit", "/admin/v1/keys", "/admin/v1/leases", "/admin/v1/missions", "/admin/v1/posture", "/admin/v1/secrets", "/admin/v1/status"], routes.Order(StringComparer.Ordinal));

        foreach (var route in routes)
        {
            var before = (await broker.AuditEventsAsync()).Count(e => e.Record.Type == "admin.read");
            using var response = await broker.AdminAsync(HttpMethod.Get, route);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var reads = (await broker.AuditEventsAsync()).Where(e => e.Record.Type == "admin.read").ToList();
            Assert.Equal(before + 1, reads.Count);
            Assert.Equal($"GET {route}", reads[^1].Record.Reason);
            Assert.Equal("bootstrap-admin", reads[^1].Record.Principal);
        }
    }
}
