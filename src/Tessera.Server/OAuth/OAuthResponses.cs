using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Tessera.Core.Protocol;

namespace Tessera.Server.OAuth;

/// <summary>Writes OAuth JSON bodies directly: RFC 6749 §5.1/§5.2 shapes with <c>no-store</c> caching.</summary>
internal static class OAuthResponses
{
    public static async Task WriteErrorAsync(HttpContext context, OAuthError error)
    {
        if (error.StatusCode == 401)
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"tessera\"";
        }

        if (error.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = Core.Limits.LimitVerdict.Seconds(retryAfter).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (error.StatusCode == 429)
        {
            await Hosting.RefusalDelay.HoldAsync(context);
        }

        await WriteJsonAsync(context, error.StatusCode, w =>
        {
            w.WriteString("error", error.Code);
            w.WriteString("error_description", error.Description);
            foreach (var (name, value) in error.Members ?? [])
            {
                if (value is long number)
                {
                    w.WriteNumber(name, number);
                }
                else
                {
                    w.WriteString(name, value.ToString());
                }
            }
        });
    }

    public static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> body)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
        await using var writer = new Utf8JsonWriter(response.BodyWriter);
        writer.WriteStartObject();
        body(writer);
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }
}
