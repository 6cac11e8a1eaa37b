using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Core.Configuration;

namespace Tessera.Server.Hosting;

/// <summary>
/// Holds a 429 answer for <c>rate_limits.refusal_delay_ms</c> (<see cref="RateLimitOptions.RefusalDelay"/>)
/// before it is written: a flooding client that resends as soon as it is answered is slowed to a few
/// requests a second per connection, and the CPU stays with the clients that are served. The wait is on
/// the server's clock and ends early when the client goes away.
/// </summary>
internal static class RefusalDelay
{
    public static async Task HoldAsync(HttpContext context)
    {
        var delay = context.RequestServices.GetRequiredService<TesseraConfig>().RateLimits.RefusalDelay;
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await Task.Delay(delay, context.RequestServices.GetRequiredService<TimeProvider>(), context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // The client gave up: the answer below goes nowhere, and nothing else was held for it.
        }
    }
}
