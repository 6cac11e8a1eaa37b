using Microsoft.AspNetCore.Http;

namespace Tessera.Server.Console;

/// <summary>
/// The headers of every console response: a content security policy that admits no inline script or
/// style and no framing, no MIME sniffing, no referrer, and nothing cached.
/// </summary>
internal sealed class ConsoleHeaders : IEndpointFilter
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        Apply(context.HttpContext.Response.Headers);
        return next(context);
    }

    public static void Apply(IHeaderDictionary headers)
    {
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        // As antiforgery sets them on a page with a form (it logs a warning when it has to override them).
        headers.CacheControl = "no-cache, no-store";
        headers.Pragma = "no-cache";
    }
}
