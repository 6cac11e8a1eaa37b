using System.Text;
using System.Text.Json;

namespace Tessera.Client;

/// <summary>
/// The one request an approval is bound to (RFC 9396 <c>authorization_details</c>): an HTTP request
/// (<c>tessera_request</c>, <see cref="Http(HttpMethod, string, ReadOnlySpan{byte}, string?, string?)"/>),
/// which the approved token then passes Tessera's proxy for only with that method, path, query string,
/// media type and body; or an MCP tool call (<c>tessera_mcp_call</c>, <see cref="McpCall"/>), only
/// that tool with those arguments. The approver decides on exactly what will be sent.
/// </summary>
public sealed class TesseraExactRequest
{
    private readonly JsonElement? _arguments;

    private TesseraExactRequest(string method, string path, string bodySha256, string? query, string? contentType)
    {
        Method = method;
        Path = path;
        BodySha256 = bodySha256;
        Query = query;
        ContentType = contentType;
    }

    private TesseraExactRequest(string toolName, string argumentsSha256, JsonElement? arguments)
    {
        Method = "";
        Path = "";
        BodySha256 = "";
        ToolName = toolName;
        ArgumentsSha256 = argumentsSha256;
        _arguments = arguments;
    }

    /// <summary>The MCP tool called (<c>params.name</c>), for an MCP call; null for an HTTP request.</summary>
    public string? ToolName { get; }

    /// <summary>The SHA-256 of the RFC 8785 canonical form of the call's arguments (<see cref="ExactRequest.McpArgumentsSha256"/>), for an MCP call; null for an HTTP request.</summary>
    public string? ArgumentsSha256 { get; }

    /// <summary>The HTTP method, upper case (empty for an MCP call).</summary>
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

    /// <summary>
    /// Binds an approval to one MCP <c>tools/call</c> through Tessera's gateway: <paramref name="name"/>
    /// with <paramref name="arguments"/> (in any member order or spacing when called).
    /// </summary>
    /// <param name="name">The MCP tool's name (<c>params.name</c>).</param>
    /// <param name="arguments">The call's <c>params.arguments</c>, an object (<c>{}</c> for none).</param>
    /// <param name="showArguments">Send the arguments with the request so the approver reads them (kept by Tessera with the pending approval only, never in the token or the audit log); false binds them by their hash alone.</param>
    /// <exception cref="ArgumentException">The arguments are not an object, or have no single canonical form (Tessera would refuse them).</exception>
    public static TesseraExactRequest McpCall(string name, JsonElement arguments, bool showArguments = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (arguments.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException("An MCP tool call's arguments are an object.", nameof(arguments));
        }

        return new TesseraExactRequest(name, ExactRequest.McpArgumentsSha256(arguments), showArguments ? arguments.Clone() : null);
    }

    /// <summary>The <c>authorization_details</c> parameter for <paramref name="tool"/>.</summary>
    internal string ToAuthorizationDetails(string tool)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping: this is a form parameter, never HTML, and the approver's list reads better unescaped.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            w.WriteStartObject();
            if (ToolName is not null)
            {
                w.WriteString("type", "tessera_mcp_call");
                w.WriteString("tool", tool);
                w.WriteString("name", ToolName);
                w.WriteString("arguments_sha256", ArgumentsSha256);
                if (_arguments is { } arguments)
                {
                    w.WritePropertyName("arguments");
                    arguments.WriteTo(w);
                }
            }
            else
            {
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
            }

            w.WriteEndObject();
            w.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Describes the request without its body or arguments.</summary>
    public override string ToString() => ToolName is not null ? $"tools/call {ToolName} (arguments_sha256 {ArgumentsSha256})" : $"{Method} {Path}{(Query is null ? "" : "?" + Query)} ({ContentType ?? "application/json"}, body_sha256 {BodySha256})";
}
