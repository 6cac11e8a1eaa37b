using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Tessera.Core.Limits;
using Tessera.Server.Hosting;

namespace Tessera.Server.Admin;

/// <summary>
/// Bounds and types every admin request's body before its handler runs (or its caller is
/// authenticated): a declared length over the route's limit is 413, another content type than
/// JSON 415, and a route that takes no body refuses any but <c>{}</c>. What the body holds is the
/// handler's to read, through <see cref="AdminBody"/>, which keeps to the same limit. A refusal here
/// comes before the caller is known: it is audited with its code and counted against its source, as
/// <see cref="AdminAuthorizationFilter"/> does.
/// </summary>
internal sealed class AdminBodyFilter(AdminAudit audit, RateLimits limits) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!AdminBody.IsPresent(http.Request))
        {
            return await next(context);
        }

        var body = http.GetEndpoint()?.Metadata.GetMetadata<AdminBody>();
        if (AdminBody.CheckHead(http, body?.MaxBytes ?? AdminBody.NoBodyMaxBytes) is { } refused)
        {
            return await RefuseAsync(http, refused);
        }

        if (body is null && await AdminBody.ReadNothingAsync(http) is { } notNothing)
        {
            return await RefuseAsync(http, notNothing);
        }

        return await next(context);
    }

    private async Task<ProblemHttpResult> RefuseAsync(HttpContext context, ProblemHttpResult problem)
    {
        var refusal = context.Features.Get<AdminRefusal>()!;
        await audit.RecordRefusalAsync(context, refusal.Code, refusal.Reason);
        TesseraMetrics.AdminRequests.WithLabels("denied").Inc();

        // Each refusal counts against its source: a flood of them is cut off by the rate limits (429).
        limits.Refused(SourceAddress.From(context.Connection.RemoteIpAddress));
        return problem;
    }
}
