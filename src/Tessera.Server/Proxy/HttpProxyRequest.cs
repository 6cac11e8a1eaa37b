using System.Buffers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Tessera.Core.Proxy;

namespace Tessera.Server.Proxy;

/// <summary>
/// What <see cref="ProxyService"/> reads of a Kestrel request. A struct, so handing it over (as a
/// generic argument) allocates nothing; every member reads the request as it is at that moment.
/// </summary>
internal readonly struct HttpProxyRequest(HttpContext context) : IProxyRequest
{
    /// <summary>An exact-request body is buffered in memory up to this size (Kestrel's limit is 1 MiB).</summary>
    private const int MaxBufferedBody = 1024 * 1024;

    public string? RawTarget => context.Features.Get<IHttpRequestFeature>()?.RawTarget;

    public string Method => context.Request.Method;

    public string RequestId => context.TraceIdentifier;

    public string? ContentType => context.Request.ContentType;

    public long? ContentLength => context.Request.ContentLength;

    public bool HasBody => context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? context.Request.ContentLength > 0;

    public long? MaxBodySize => context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;

    public CancellationToken Aborted => context.RequestAborted;

    public IEnumerable<string?> Connection => context.Request.Headers.Connection;

    public int Header(string name, out string? first)
    {
        var values = context.Request.Headers[name];
        first = values.Count > 0 ? values[0] : null;
        return values.Count;
    }

    public bool Has(string name) => context.Request.Headers.ContainsKey(name);

    public bool HasHeaderStartingWith(string prefix)
    {
        foreach (var name in context.Request.Headers.Keys)
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The body is buffered to hash it and rewound for forwarding. Kept in memory up to the body
    /// limit: an approved request's body (customer data, say) is never spooled to a temporary file,
    /// as EnableBuffering does past 30 KB by default.
    /// </summary>
    public async ValueTask<BodyDigest> HashBodyAsync()
    {
        var limit = MaxBodySize ?? MaxBufferedBody;
        context.Request.EnableBuffering(bufferThreshold: (int)Math.Min(limit, MaxBufferedBody), bufferLimit: limit);
        byte[] digest;
        try
        {
            digest = await SHA256.HashDataAsync(context.Request.Body, context.RequestAborted);
        }
        catch (BadHttpRequestException ex)
        {
            // A body Kestrel refuses to read (over the size limit while streamed, malformed chunks): its status.
            return BodyDigest.Refused(ex.StatusCode);
        }
        catch (IOException)
        {
            // The buffer's own limit (the same size): refused like Kestrel's.
            return BodyDigest.Refused(413);
        }

        context.Request.Body.Position = 0;
        return BodyDigest.Of(digest);
    }

    /// <summary>
    /// Reads the body into memory (never to a file) and puts those bytes in its place with their exact
    /// length, so the message that was checked is the one forwarded, however the client framed it.
    /// </summary>
    public async ValueTask<BufferedBody> ReadBodyAsync()
    {
        var limit = Math.Min(MaxBodySize ?? MaxBufferedBody, MaxBufferedBody);
        var reader = context.Request.BodyReader;
        byte[] content;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(context.RequestAborted);
                var held = read.Buffer;
                if (held.Length > limit)
                {
                    reader.AdvanceTo(held.Start, held.End);
                    return BufferedBody.Refused(413);
                }

                if (read.IsCompleted)
                {
                    content = held.ToArray();
                    reader.AdvanceTo(held.End);
                    break;
                }

                // Keep everything and wait for more: the message is decided whole.
                reader.AdvanceTo(held.Start, held.End);
            }
        }
        catch (BadHttpRequestException ex)
        {
            // A body Kestrel refuses to read (over its size limit while streamed, malformed chunks): its status.
            return BufferedBody.Refused(ex.StatusCode);
        }

        context.Request.Body = new MemoryStream(content, writable: false);
        context.Request.Headers.Remove("Transfer-Encoding");
        context.Request.ContentLength = content.Length;
        return BufferedBody.Of(content);
    }
}
