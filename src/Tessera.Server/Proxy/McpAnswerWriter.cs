using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Tessera.Core.Mcp;

namespace Tessera.Server.Proxy;

/// <summary>
/// Writes an MCP server's answer to a list request through <see cref="McpListFilter"/> (the decision
/// of what a token may see is Core's): a JSON answer read whole (bounded) and written filtered with
/// its new length, an event stream filtered event by event as it arrives. Any other successful
/// answer to a list request (another media type, or compressed) is refused (502): Tessera does not
/// pass on what it cannot filter.
/// </summary>
internal static class McpAnswerWriter
{
    /// <summary>Writes the answer; the response's status and headers are already copied. Returns what the filter did.</summary>
    public static async Task<McpFilterOutcome> WriteAsync(HttpContext context, HttpResponseMessage answer, McpListFilter filter, McpListKind kind, CancellationToken cancellationToken)
    {
        // A compressed answer is bytes the filter cannot read; passed on, the agent would unpack the
        // whole list. Requests for lists ask for none (CredentialTransformer), so this is an upstream
        // compressing unasked.
        foreach (var coding in answer.Content.Headers.ContentEncoding)
        {
            if (!string.Equals(coding, "identity", StringComparison.OrdinalIgnoreCase))
            {
                return McpFilterOutcome.Refused;
            }
        }

        var media = answer.Content.Headers.ContentType?.MediaType;
        await using var upstream = await answer.Content.ReadAsStreamAsync(cancellationToken);
        if (string.Equals(media, "text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            context.Response.Headers.ContentLength = null;
            await context.Response.StartAsync(cancellationToken);
            var streamed = await McpEventStream.CopyAsync(upstream, context.Response.Body, filter, kind, cancellationToken);
            if (streamed == McpFilterOutcome.Refused)
            {
                // Part of the stream is already with the client: end it rather than pass on what could not be filtered.
                context.Abort();
            }

            return streamed;
        }

        if (!string.Equals(media, "application/json", StringComparison.OrdinalIgnoreCase))
        {
            return McpFilterOutcome.Refused;
        }

        var body = new ArrayBufferWriter<byte>();
        if (!await ReadBoundedAsync(upstream, body, McpListFilter.MaxMessageBytes, cancellationToken))
        {
            return McpFilterOutcome.Refused;
        }

        var filtered = new ArrayBufferWriter<byte>();
        var outcome = filter.Filter(body.WrittenMemory, kind, filtered);
        if (outcome == McpFilterOutcome.Refused)
        {
            return outcome;
        }

        var written = outcome == McpFilterOutcome.Rewritten ? filtered.WrittenMemory : body.WrittenMemory;
        context.Response.Headers.Remove(HeaderNames.TransferEncoding);
        context.Response.ContentLength = written.Length;
        await context.Response.Body.WriteAsync(written, cancellationToken);
        return outcome;
    }

    private static async Task<bool> ReadBoundedAsync(Stream source, ArrayBufferWriter<byte> into, int limit, CancellationToken cancellationToken)
    {
        while (true)
        {
            var memory = into.GetMemory(16 * 1024);
            var read = await source.ReadAsync(memory, cancellationToken);
            if (read == 0)
            {
                return true;
            }

            into.Advance(read);
            if (into.WrittenCount > limit)
            {
                return false;
            }
        }
    }
}
