namespace Tessera.Core.Proxy;

/// <summary>
/// What <see cref="ProxyService"/> reads of one request to <c>/proxy/{tool}/{**path}</c>, as the
/// server received it. The server implements it as a struct over its HTTP request, so reading it
/// allocates nothing beyond what the header collection itself hands out.
/// </summary>
public interface IProxyRequest
{
    /// <summary>The request target exactly as on the request line (<c>/proxy/crm/contacts/1?x=1</c>), or null when unknown.</summary>
    string? RawTarget { get; }

    string Method { get; }

    /// <summary>The server's id of this request, recorded as every event's <c>request_id</c>.</summary>
    string RequestId { get; }

    string? ContentType { get; }

    /// <summary>The announced body length (<c>Content-Length</c>), if any.</summary>
    long? ContentLength { get; }

    /// <summary>Whether the request carries a body at all (a <c>Content-Length</c> above 0, chunked framing, an HTTP/2 stream with data), read or not.</summary>
    bool HasBody { get; }

    /// <summary>The most the server reads of a request body, if limited.</summary>
    long? MaxBodySize { get; }

    /// <summary>Cancelled when the client goes away.</summary>
    CancellationToken Aborted { get; }

    /// <summary>How many values the header <paramref name="name"/> has, and the first of them (null when none).</summary>
    int Header(string name, out string? first);

    /// <summary>Whether a header of that name is present at all.</summary>
    bool Has(string name);

    /// <summary>Whether any header's name starts with <paramref name="prefix"/> (compared without case, as HTTP names are).</summary>
    bool HasHeaderStartingWith(string prefix);

    /// <summary>The values of the <c>Connection</c> header (read only when it has some).</summary>
    IEnumerable<string?> Connection { get; }

    /// <summary>
    /// Reads the whole body and returns its SHA-256 as sent (after any transfer framing is removed),
    /// leaving it readable again for forwarding; or the status the server gives a body it refuses
    /// to read (413 over the size limit, 400 malformed).
    /// </summary>
    ValueTask<BodyDigest> HashBodyAsync();

    /// <summary>
    /// Reads the whole body into memory (up to <see cref="MaxBodySize"/>) and makes those bytes the
    /// body that is forwarded, so what is checked is exactly what the upstream receives; or the
    /// status the server gives a body it refuses to read.
    /// </summary>
    ValueTask<BufferedBody> ReadBodyAsync();
}
