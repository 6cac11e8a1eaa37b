using Microsoft.AspNetCore.Http;
using System.Net.ServerSentEvents;
using System.Text;

/// <summary>
/// The SDK (2.4.0) always answers a POST with an event stream and has no option for a JSON body: this
/// lets it write its stream into a buffer and sends the JSON-RPC message it carries (the last message
/// event) as the whole application/json body. Only the framing changes.
/// </summary>
internal static class JsonFraming
{
    public static async Task AnswerAsync(HttpContext context, RequestDelegate next)
    {
        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }

        buffer.Position = 0;
        if (context.Response.ContentType != "text/event-stream")
        {
            await buffer.CopyToAsync(original, context.RequestAborted);
            return;
        }

        string? last = null;
        await foreach (var item in SseParser.Create(buffer).EnumerateAsync(context.RequestAborted))
        {
            if (item.EventType == "message" && item.Data.Length > 0)
            {
                last = item.Data;
            }
        }

        context.Response.Headers.Remove("Content-Encoding");
        context.Response.Headers.Remove("X-Accel-Buffering");
        context.Response.ContentType = "application/json";
        var body = Encoding.UTF8.GetBytes(last ?? "");
        context.Response.ContentLength = body.Length;
        await original.WriteAsync(body, context.RequestAborted);
    }
}
