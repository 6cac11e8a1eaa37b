using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Tessera.Core.Limits;

namespace Tessera.Server.Proxy;

/// <summary>
/// Where <c>/proxy</c> requests enter: runs <see cref="ToolProxy"/>, then counts a request it refused
/// as unauthenticated or malformed against the source (<see cref="RateLimits.Refused"/>), so a flood
/// of them is cut off with 429 before it reaches the proxy (and the audit log) again.
/// </summary>
internal sealed class ProxyEntry(ToolProxy proxy, RateLimits limits)
{
    public async Task HandleAsync(HttpContext context)
    {
        // Read before the proxy removes the caller's Authorization header on its way upstream.
        var tokenless = !context.Request.Headers.ContainsKey(HeaderNames.Authorization);
        await proxy.HandleAsync(context);
        if (IsOwnRefusal(context, tokenless))
        {
            limits.Refused(SourceAddress.From(context.Connection.RemoteIpAddress));
        }
    }

    /// <summary>
    /// Whether the 4xx is the proxy's own refusal of an unauthenticated or malformed request, not an
    /// upstream's answer to a forwarded one: nothing without a token is forwarded, and the proxy's
    /// token refusals carry its own challenge (realm "tessera"). An upstream's 400 or 401 to an
    /// authenticated agent never counts.
    /// </summary>
    private static bool IsOwnRefusal(HttpContext context, bool tokenless)
    {
        var status = context.Response.StatusCode;
        return status is 400 or 401
            && (tokenless || context.Response.Headers.WWWAuthenticate.ToString().Contains("realm=\"tessera\"", StringComparison.Ordinal));
    }
}
