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
    /// <summary>What became of a filtered answer: what the filter did, whether the token ended it, whether the upstream fell silent.</summary>
    public readonly record struct McpAnswer(McpFilterOutcome Filtered, McpTokenEnd Ended, bool Silent);

    /// <summary>Restarts the silence limit on every read that returns data; the limit itself is the caller's token source.</summary>
    private sealed class SilenceLimit(Stream inner, CancellationTokenSource cut, TimeSpan silence) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            if (read > 0 && silence > TimeSpan.Zero)
            {
                cut.CancelAfter(silence);
            }

            return read;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }
    }

    /// <summary>
    /// Writes the answer; the response's status and headers are already copied. Never throws for
    /// the stream's end (the agent leaving, the upstream failing or falling silent, the token
    /// ending): says what happened, and aborts a stream that was cut, so the agent sees it end.
    /// </summary>
    /// <param name="context">The agent's request.</param>
    /// <param name="answer">The upstream's answer.</param>
    /// <param name="filter">The token's filter.</param>
    /// <param name="kind">Which list the answer carries.</param>
    /// <param name="connection">The grant's token, checked before each event and every second: a stream ends with its token; null when nothing ends it.</param>
    /// <param name="silence">How long the upstream may send nothing before the answer is cut (the tool's timeout); zero for a GET stream, which may be quiet as long as its token lasts.</param>
    /// <param name="time">The clock of the periodic token check.</param>
    public static async Task<McpAnswer> WriteAsync(HttpContext context, HttpResponseMessage answer, McpListFilter filter, McpListKind kind, McpConnection? connection,
        TimeSpan silence, TimeProvider time)
    {
        // A compressed answer is bytes the filter cannot read; passed on, the agent would unpack the
        // whole list. Requests for lists ask for none (CredentialTransformer), so this is an upstream
        // compressing unasked.
        foreach (var coding in answer.Content.Headers.ContentEncoding)
        {
            if (!string.Equals(coding, "identity", StringComparison.OrdinalIgnoreCase))
            {
                return new(McpFilterOutcome.Refused, McpTokenEnd.StillValid, false);
            }
        }

        // Not the forwarder's token: its activity timeout is reset only by its own copying, which this
        // answer does not use, so it would cut a live stream after the tool's timeout in all.
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var ended = McpTokenEnd.StillValid;
        bool MayContinue()
        {
            if (connection is not null && connection.TokenEnded() is var end and not McpTokenEnd.StillValid)
            {
                ended = end;
                return false;
            }

            return true;
        }

        await using var check = connection is null ? null : time.CreateTimer(_ =>
        {
            if (!MayContinue())
            {
                cut.Cancel();
            }
        }, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        var media = answer.Content.Headers.ContentType?.MediaType;
        var streaming = string.Equals(media, "text/event-stream", StringComparison.OrdinalIgnoreCase);
        try
        {
            if (silence > TimeSpan.Zero)
            {
                cut.CancelAfter(silence);
            }

            await using var upstream = new SilenceLimit(await answer.Content.ReadAsStreamAsync(cut.Token), cut, silence);
            if (streaming)
            {
                context.Response.Headers.ContentLength = null;
                await context.Response.StartAsync(cut.Token);
                var streamed = await McpEventStream.CopyAsync(upstream, context.Response.Body, filter, kind, MayContinue, cut.Token);
                if (streamed == McpFilterOutcome.Refused || ended != McpTokenEnd.StillValid)
                {
                    // Part of the stream is already with the client: end it rather than pass on what could not be filtered.
                    context.Abort();
                }

                return new(streamed, ended, false);
            }

            if (!string.Equals(media, "application/json", StringComparison.OrdinalIgnoreCase))
            {
                return new(McpFilterOutcome.Refused, ended, false);
            }

            var body = new ArrayBufferWriter<byte>();
            if (!await ReadBoundedAsync(upstream, body, McpListFilter.MaxMessageBytes, cut.Token))
            {
                return new(McpFilterOutcome.Refused, ended, false);
            }

            var filtered = new ArrayBufferWriter<byte>();
            var outcome = filter.Filter(body.WrittenMemory, kind, filtered);
            if (outcome == McpFilterOutcome.Refused)
            {
                return new(outcome, ended, false);
            }

            var written = outcome == McpFilterOutcome.Rewritten ? filtered.WrittenMemory : body.WrittenMemory;
            context.Response.Headers.Remove(HeaderNames.TransferEncoding);
            context.Response.ContentLength = written.Length;
            await context.Response.Body.WriteAsync(written, cut.Token);
            return new(outcome, ended, false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            // The agent left, the upstream broke off or fell silent, or the token ended: the answer ends here.
            context.Abort();
            var silent = ended == McpTokenEnd.StillValid && !context.RequestAborted.IsCancellationRequested && e is OperationCanceledException;
            return new(McpFilterOutcome.Unchanged, ended, silent);
        }
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
