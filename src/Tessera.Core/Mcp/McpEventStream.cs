using System.Buffers;

namespace Tessera.Core.Mcp;

/// <summary>
/// Filters a <c>text/event-stream</c> answer (MCP Streamable HTTP) event by event as it arrives:
/// each event whose data is a list answer is passed through <see cref="McpListFilter"/>, every other
/// event is copied as it came, and each is flushed at once, so a long-lived stream stays live and
/// only the one event being read is ever held (at most <see cref="McpListFilter.MaxMessageBytes"/>
/// and 16 KiB for its fields; a larger event refuses the stream).
/// Written by hand because this is our product: a general SSE parser would hand us the data without
/// the exact bytes to pass on unchanged.
/// </summary>
/// <remarks>
/// Lines end with CR LF, LF or CR, and an event ends at an empty line (the HTML Living Standard's
/// event stream format). A rewritten event keeps its other fields (<c>event</c>, <c>id</c>,
/// <c>retry</c>, comments) in order and carries the filtered JSON in one <c>data</c> line. An event
/// cut off by the end of the stream is dropped, as a client would drop it. A byte order mark at the
/// start of the stream is read past, as a client reads past it.
/// </remarks>
public static class McpEventStream
{
    private const int InitialBuffer = 16 * 1024;

    /// <summary>The most one event may hold: a list answer of <see cref="McpListFilter.MaxMessageBytes"/> and room for its field names and line ends.</summary>
    private const int MaxEventBytes = McpListFilter.MaxMessageBytes + InitialBuffer;

    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="destination"/>, filtering list answers.
    /// Returns <see cref="McpFilterOutcome.Refused"/> as soon as an event is too large or its data
    /// cannot be read unambiguously; nothing of that event has been written, and the caller must end
    /// the answer rather than let the rest through.
    /// </summary>
    /// <param name="source">The upstream's event stream.</param>
    /// <param name="destination">The agent's response.</param>
    /// <param name="filter">The token's filter.</param>
    /// <param name="kind">Which list an answer carries (<see cref="McpListKind.Any"/> on a stream not tied to one request).</param>
    /// <param name="mayContinue">Asked before each event is passed on: false ends the copy there (the token ended); null when nothing ends it.</param>
    /// <param name="cancellationToken">Ends the copy (the agent left, the upstream fell silent, the token ended).</param>
    public static async Task<McpFilterOutcome> CopyAsync(Stream source, Stream destination, McpListFilter filter, McpListKind kind, Func<bool>? mayContinue, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
        var rewritten = new ArrayBufferWriter<byte>();
        var outcome = McpFilterOutcome.Unchanged;
        var first = true; // the next event is the first of the stream, which may start with a byte order mark
        McpFilterOutcome? endedOnCr = null; // how the last event passed, when it ended with a CR whose LF may be still to come
        try
        {
            var length = 0; // bytes held in buffer
            var scanned = 0; // bytes of the current event already searched for its end
            while (true)
            {
                if (endedOnCr is { } previous && length > 0)
                {
                    // The LF of a CR LF that ended the last event: it belongs to that event's last line,
                    // so it goes on with an event passed as it came and is dropped after a rewritten one.
                    if (buffer[0] == '\n')
                    {
                        if (previous == McpFilterOutcome.Unchanged)
                        {
                            await destination.WriteAsync(buffer.AsMemory(0, 1), cancellationToken);
                            await destination.FlushAsync(cancellationToken);
                        }

                        buffer.AsSpan(1, length - 1).CopyTo(buffer);
                        length--;
                    }

                    endedOnCr = null;
                }

                var end = FindEventEnd(buffer.AsSpan(0, length), scanned, out var resume);
                if (end < 0)
                {
                    scanned = resume;
                    if (length >= MaxEventBytes)
                    {
                        return McpFilterOutcome.Refused;
                    }

                    if (length == buffer.Length)
                    {
                        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, MaxEventBytes));
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    // Never more than one event may hold, whatever size of array the pool handed out.
                    var read = await source.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, MaxEventBytes) - length), cancellationToken);
                    if (read == 0)
                    {
                        return outcome;
                    }

                    length += read;
                    continue;
                }

                // A token that ended while the stream was open lets nothing more through.
                if (mayContinue is not null && !mayContinue())
                {
                    return outcome;
                }

                var result = Pass(buffer.AsMemory(0, end), first, filter, kind, rewritten);
                first = false;
                if (result == McpFilterOutcome.Refused)
                {
                    return result;
                }

                if (result == McpFilterOutcome.Rewritten)
                {
                    outcome = result;
                    await destination.WriteAsync(rewritten.WrittenMemory, cancellationToken);
                    rewritten.ResetWrittenCount();
                }
                else
                {
                    await destination.WriteAsync(buffer.AsMemory(0, end), cancellationToken);
                }

                await destination.FlushAsync(cancellationToken);
                endedOnCr = end == length && buffer[end - 1] == '\r' ? result : null;
                buffer.AsSpan(end, length - end).CopyTo(buffer);
                length -= end;
                scanned = 0;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The length of the first whole event in <paramref name="held"/> (through the empty line that
    /// ends it), or -1 with where to resume the search once more bytes arrive.
    /// </summary>
    internal static int FindEventEnd(ReadOnlySpan<byte> held, int from, out int resume)
    {
        var lineStart = from;
        var i = from;
        while (i < held.Length)
        {
            var b = held[i];
            if (b is not ((byte)'\r' or (byte)'\n'))
            {
                i++;
                continue;
            }

            if (b == '\r' && i + 1 == held.Length)
            {
                if (i == lineStart)
                {
                    // A CR alone ends the empty line, so the event is whole now: waiting to see whether
                    // an LF follows would hold it back until the server sends more, perhaps never.
                    resume = 0;
                    return i + 1;
                }

                // A CR as the last byte held may be half of a CR LF: decide once the next byte is here,
                // or an LF that follows would read as the empty line that ends the event.
                break;
            }

            var next = b == '\r' && held[i + 1] == '\n' ? i + 2 : i + 1;
            if (i == lineStart)
            {
                resume = 0;
                return next;
            }

            lineStart = next;
            i = next;
        }

        resume = lineStart;
        return -1;
    }

    /// <summary>Decides one whole event: unchanged, rewritten into <paramref name="output"/>, or refused.</summary>
    internal static McpFilterOutcome Pass(ReadOnlyMemory<byte> evt, bool first, McpListFilter filter, McpListKind kind, ArrayBufferWriter<byte> output)
    {
        var span = evt.Span;
        if (first && span.StartsWith("\uFEFF"u8))
        {
            // A client drops a byte order mark at the start of the stream and reads the line after it:
            // so must the filter, or a list answer on the first line would pass unread.
            span = span[3..];
        }

        var data = new ArrayBufferWriter<byte>();
        var dataLines = 0;
        foreach (var (start, length) in Lines(span))
        {
            var line = span.Slice(start, length);
            if (Field(line, "data"u8) is { } value)
            {
                if (dataLines++ > 0)
                {
                    data.Write("\n"u8);
                }

                data.Write(line[value..]);
            }
        }

        if (dataLines == 0 || data.WrittenCount == 0)
        {
            return McpFilterOutcome.Unchanged;
        }

        var json = new ArrayBufferWriter<byte>();
        var result = filter.Filter(data.WrittenMemory, kind, json);
        if (result != McpFilterOutcome.Rewritten)
        {
            return result;
        }

        foreach (var (start, length) in Lines(span))
        {
            var line = span.Slice(start, length);
            if (line.Length > 0 && Field(line, "data"u8) is null)
            {
                output.Write(line);
                output.Write("\n"u8);
            }
        }

        output.Write("data: "u8);
        output.Write(json.WrittenSpan);
        output.Write("\n\n"u8);
        return McpFilterOutcome.Rewritten;
    }

    /// <summary>Where the value of field <paramref name="name"/> starts in <paramref name="line"/> (after the colon and one optional space), or null when the line is another field.</summary>
    private static int? Field(ReadOnlySpan<byte> line, ReadOnlySpan<byte> name)
    {
        if (!line.StartsWith(name))
        {
            return null;
        }

        if (line.Length == name.Length)
        {
            return name.Length; // "data" alone: an empty value
        }

        if (line[name.Length] != ':')
        {
            return null;
        }

        return line.Length > name.Length + 1 && line[name.Length + 1] == ' ' ? name.Length + 2 : name.Length + 1;
    }

    /// <summary>The lines of one event (start and length, without their ends).</summary>
    private static List<(int Start, int Length)> Lines(ReadOnlySpan<byte> evt)
    {
        var lines = new List<(int, int)>();
        var start = 0;
        for (var i = 0; i < evt.Length; i++)
        {
            if (evt[i] is (byte)'\r' or (byte)'\n')
            {
                lines.Add((start, i - start));
                if (evt[i] == '\r' && i + 1 < evt.Length && evt[i + 1] == '\n')
                {
                    i++;
                }

                start = i + 1;
            }
        }

        return lines;
    }
}
