using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Tessera.Server.Admin;

/// <summary>The admin API under <c>/admin/v1</c>: JSON in and out, RFC 9457 problems on error.</summary>
internal static class AdminApi
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/v1");

        // Before any handler runs, its body is bounded and typed (AdminBodyFilter, by the route's
        // AdminBody), then its caller admitted (AdminAuthorizationFilter): admins only, unless the
        // route's AdminAccess admits approvers too.
        admin.AddEndpointFilter<AdminBodyFilter>();
        admin.AddEndpointFilter<AdminAuthorizationFilter>();
        AgentEndpoints.Map(admin);
        AuditEndpoints.Map(admin);
        MissionEndpoints.Map(admin);
        KeyEndpoints.Map(admin);
        RevocationEndpoints.Map(admin);
        SecretEndpoints.Map(admin);
        ApprovalEndpoints.Map(admin);
        PostureEndpoints.Map(admin);
        LeaseEndpoints.Map(admin);
        ConfigEndpoints.Map(admin);
    }
}
