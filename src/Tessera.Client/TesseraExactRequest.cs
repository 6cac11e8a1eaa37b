using System.Text;
using System.Text.Json;

namespace Tessera.Client;

/// <summary>
/// The one request an approval is bound to (RFC 9396 <c>authorization_details</c> of type
/// <c>tessera_request</c>): the approved token then passes Tessera's proxy only for that method, path,
/// query string, media type and body, so the approver decides on exactly what will be sent.
/// </summary>
public sealed class TesseraExactRequest
{
    private TesseraExactRequest(string method, string path, string bodySha256, string? query, string? contentType)
    {
        Method = method;
        Path = path;
        BodySha256 = bodySha256;
        Query = query;
        ContentType = contentType;
    }

    /// <summary>The HTTP method, upper case.</summary>
    public string Method { get; }

    /// <summary>The path at the tool (what follows <c>/proxy/{tool}</c>), already normalized: <c>/exports</c>, <c>/billing/4711</c>.</summary>
    public string Path { get; }

    /// <summary>The exact query string without <c>?</c>, or null for a request without one.</summary>
    public string? Query { get; }

    /// <summary>The media type without parameters, or null for <c>application/json</c> (Tessera's default).</summary>
    public string? ContentType { get; }

    /// <summary>The SHA-256 of the body as sent (<see cref="ExactRequest.BodySha256(ReadOnlySpan{byte})"/>).</summary>
    public string BodySha256 { get; }

    /// <summary>Binds an approval to one HTTP request through Tessera's proxy.</summary>
    /// <param name="method">The method (<c>POST</c>, <c>PUT</c>, ...).</param>
    /// <param name="path">The path at the tool, starting with <c>/</c> (not the <c>/proxy/{tool}</c> prefix).</param>
    /// <param name="body">The body exactly as it will be sent (empty for none).</param>
    /// <param name="query">The exact query string without <c>?</c>, or null for none.</param>
    /// <param name="contentType">The request's media type (parameters such as <c>charset</c> are dropped), or null for <c>application/json</c>.</param>
    public static TesseraExactRequest Http(HttpMethod method, string path, ReadOnlySpan<byte> body, string? query = null, string? contentType = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path[0] != '/')
        {
            throw new ArgumentException("The path is the tool's path and starts with '/'.", nameof(path));
        }

        var mediaType = contentType?.Split(';', 2)[0].Trim().ToLowerInvariant();
        return new TesseraExactRequest(method.Method.ToUpperInvariant(), path, ExactRequest.BodySha256(body),
            string.IsNullOrEmpty(query) ? null : query.TrimStart('?'), string.IsNullOrEmpty(mediaType) ? null : mediaType);
    }

    /// <summary>Binds an approval to one HTTP request with a text body sent as UTF-8 (a JSON document, for example).</summary>
    /// <param name="method">The method.</param>
    /// <param name="path">The path at the tool, starting with <c>/</c>.</param>
    /// <param name="body">The body as it will be sent.</param>
    /// <param name="query">The exact query string without <c>?</c>, or null for none.</param>
    /// <param name="contentType">The request's media type, or null for <c>application/json</c>.</param>
    public static TesseraExactRequest Http(HttpMethod method, string path, string body, string? query = null, string? contentType = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Http(method, path, Encoding.UTF8.GetBytes(body), query, contentType);
    }

    /// <summary>The <c>authorization_details</c> parameter for <paramref name="tool"/>.</summary>
    internal string ToAuthorizationDetails(string tool)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            w.WriteStartObject();
            w.WriteString("type", "tessera_request");
            w.WriteString("tool", tool);
            w.WriteString("method", Method);
            w.WriteString("path", Path);
            w.WriteString("body_sha256", BodySha256);
            if (Query is not null)
            {
                w.WriteString("query", Query);
            }

            if (ContentType is not null)
            {
                w.WriteString("content_type", ContentType);
            }

            w.WriteEndObject();
            w.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Describes the request without its body.</summary>
    public override string ToString() => $"{Method} {Path}{(Query is null ? "" : "?" + Query)} ({ContentType ?? "application/json"}, body_sha256 {BodySha256})";
}
