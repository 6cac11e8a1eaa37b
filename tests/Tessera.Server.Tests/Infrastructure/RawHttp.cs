using System.Net.Sockets;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// One HTTP/1.1 exchange over a raw socket, written exactly as given: request line, headers and body
/// bytes (the caller frames chunked bodies itself), so no client library canonicalizes the target,
/// adds a Content-Length or answers <c>100 Continue</c> on its own. Bounded in time: a server that
/// never answers fails the test instead of hanging it.
/// </summary>
public static class RawHttp
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    /// <param name="headers">Header lines without CRLF; Host and <c>Connection: close</c> are added.</param>
    /// <param name="awaitContinue">Send the body only after an interim <c>100 Continue</c> (as a client that sent <c>Expect: 100-continue</c> does);
    /// when the server answers with a final status instead, the body is never sent.</param>
    public static async Task<RawResponse> SendAsync(Uri address, string method, string target, IEnumerable<string> headers, byte[]? body = null, bool awaitContinue = false)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port, timeout.Token);
        await using var stream = tcp.GetStream();
        var head = new StringBuilder();
        head.Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\n");
        head.Append("Host: ").Append(address.Authority).Append("\r\n");
        foreach (var header in headers)
        {
            head.Append(header).Append("\r\n");
        }

        head.Append("Connection: close\r\n\r\n");
        var headBytes = Encoding.ASCII.GetBytes(head.ToString());

        var received = new MemoryStream();
        if (awaitContinue)
        {
            await stream.WriteAsync(headBytes, timeout.Token);
            var interim = await ReadHeadAsync(stream, received, timeout.Token);
            if (!interim.StartsWith("HTTP/1.1 100", StringComparison.Ordinal))
            {
                // A final answer without asking for the body: the body is never sent. Its own framing
                // says where the answer ends; the server may keep the connection a while longer
                // (Kestrel waits up to 5 s for the body it declined to ask for) before closing it.
                await CopyAnswerBodyAsync(stream, received, interim, timeout.Token);
                return Parse(received.ToArray(), sawContinue: false);
            }

            received.SetLength(0);
            headBytes = [];
        }

        // Written while the answer is read: a server that refuses early may stop reading the request.
        var writing = WriteIgnoringResetAsync(stream, [.. headBytes, .. body ?? []], timeout.Token);
        await CopyToEndAsync(stream, received, timeout.Token);
        await writing;
        return Parse(received.ToArray(), sawContinue: awaitContinue);
    }

    /// <summary>Frames <paramref name="body"/> as chunked transfer coding (RFC 9112 §7.1) in chunks of <paramref name="size"/> bytes.</summary>
    public static byte[] Chunked(byte[] body, int size)
    {
        var framed = new MemoryStream();
        for (var offset = 0; offset < body.Length; offset += size)
        {
            var length = Math.Min(size, body.Length - offset);
            framed.Write(Encoding.ASCII.GetBytes($"{length:x}\r\n"));
            framed.Write(body, offset, length);
            framed.Write("\r\n"u8);
        }

        framed.Write("0\r\n\r\n"u8);
        return framed.ToArray();
    }

    private static async Task WriteIgnoringResetAsync(NetworkStream stream, byte[] body, CancellationToken cancellationToken)
    {
        try
        {
            await stream.WriteAsync(body, cancellationToken);
        }
        catch (IOException)
        {
            // The server answered and closed before taking the whole body; the answer is what the test checks.
        }
    }

    private static async Task CopyToEndAsync(NetworkStream stream, MemoryStream into, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                into.Write(buffer, 0, read);
            }
        }
        catch (IOException) when (into.Length > 0)
        {
            // A reset after the answer arrived (the server closed with our body unread).
        }
    }

    /// <summary>Reads the body of the answer whose <paramref name="head"/> was read: by Content-Length, up to the last chunk, or else to the end.</summary>
    private static async Task CopyAnswerBodyAsync(NetworkStream stream, MemoryStream into, string head, CancellationToken cancellationToken)
    {
        var headers = Parse(Encoding.ASCII.GetBytes(head), sawContinue: false).Headers;
        if (headers.TryGetValue("Content-Length", out var declared) && long.TryParse(declared, out var length))
        {
            var buffer = new byte[16 * 1024];
            var end = into.Length + length;
            int read;
            while (into.Length < end && (read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, end - into.Length)), cancellationToken)) > 0)
            {
                into.Write(buffer, 0, read);
            }
        }
        else if (headers.TryGetValue("Transfer-Encoding", out var coding) && coding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            var one = new byte[1];
            while (!EndsWith(into, "\r\n0\r\n\r\n"u8) && await stream.ReadAsync(one, cancellationToken) > 0)
            {
                into.WriteByte(one[0]);
            }
        }
        else
        {
            await CopyToEndAsync(stream, into, cancellationToken);
        }
    }

    /// <summary>Reads up to the end of the first response head and returns it; what was read stays in <paramref name="into"/>.</summary>
    private static async Task<string> ReadHeadAsync(NetworkStream stream, MemoryStream into, CancellationToken cancellationToken)
    {
        var one = new byte[1];
        while (!EndsWithBlankLine(into) && await stream.ReadAsync(one, cancellationToken) > 0)
        {
            into.WriteByte(one[0]);
        }

        return Encoding.ASCII.GetString(into.ToArray());
    }

    private static bool EndsWithBlankLine(MemoryStream s) => EndsWith(s, "\r\n\r\n"u8);

    private static bool EndsWith(MemoryStream s, ReadOnlySpan<byte> end) =>
        s.Length >= end.Length && s.GetBuffer().AsSpan((int)s.Length - end.Length, end.Length).SequenceEqual(end);

    private static RawResponse Parse(byte[] bytes, bool sawContinue)
    {
        var text = Encoding.UTF8.GetString(bytes);
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = split >= 0 ? text[..split] : text;
        var lines = head.Split("\r\n");
        var parts = lines[0].Split(' ');
        var status = parts.Length > 1 && int.TryParse(parts[1], out var s) ? s : 0;
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
            .GroupBy(p => p[0].Trim(), StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => string.Join(", ", g.Select(p => p[1].Trim())), StringComparer.OrdinalIgnoreCase);
        var body = split >= 0 ? text[(split + 4)..] : "";
        if (headers.TryGetValue("Transfer-Encoding", out var coding) && coding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }

        return new RawResponse(status, headers, body, sawContinue);
    }

    /// <summary>Joins the chunks of a chunked answer (whose chunks are ASCII-sized for the answers tests read).</summary>
    private static string Dechunk(string framed)
    {
        var body = new StringBuilder();
        var at = 0;
        while (at < framed.Length)
        {
            var lineEnd = framed.IndexOf("\r\n", at, StringComparison.Ordinal);
            if (lineEnd < 0 || !int.TryParse(framed.AsSpan(at, lineEnd - at), System.Globalization.NumberStyles.HexNumber, null, out var size) || size == 0)
            {
                break;
            }

            body.Append(framed, lineEnd + 2, Math.Min(size, framed.Length - lineEnd - 2));
            at = lineEnd + 2 + size + 2;
        }

        return body.ToString();
    }
}

/// <summary>A raw answer: status, headers (repeated ones joined), the body as text (de-chunked).</summary>
public sealed record RawResponse(int Status, IReadOnlyDictionary<string, string> Headers, string Body, bool SawContinue)
{
    public string? ContentType => Headers.TryGetValue("Content-Type", out var v) ? v : null;
}
