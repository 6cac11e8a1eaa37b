using Microsoft.AspNetCore.Http;

namespace Tessera.Server.Admin;

/// <summary>
/// Bounds and types every admin request's body before its handler runs (or its caller is
/// authenticated): a declared length over the route's limit is 413, another content type than
/// JSON 415, and a route that takes no body refuses any but <c>{}</c>. What the body holds is the
/// handler's to read, through <see cref="AdminBody"/>, which keeps to the same limit.
/// </summary>
internal sealed class AdminBodyFilter : IEndpointFilter
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
            return refused;
        }

        if (body is null && await AdminBody.ReadNothingAsync(http) is { } notNothing)
        {
            return notNothing;
        }

        return await next(context);
    }
}
