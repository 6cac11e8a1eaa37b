namespace Tessera.Core.Proxy;

/// <summary>
/// A proxied request that is answered by Tessera and never forwarded: the HTTP status, the
/// <c>WWW-Authenticate</c> challenges (one header value each; null when none), the problem's title
/// and detail for a person, and the reason on record. It is audited before it is returned (as
/// <c>proxy.denied</c>, or <c>proxy.failed</c> when the request could not be recorded). Never a
/// token or a secret in any of it.
/// </summary>
/// <param name="Status">The HTTP status of the answer.</param>
/// <param name="Code">Which rule refused (<see cref="Protocol.RefusalCodes"/>): the audit event's <c>reason_code</c>.</param>
/// <param name="Challenges">The <c>WWW-Authenticate</c> values, or null.</param>
/// <param name="Title">The problem's title (RFC 9457).</param>
/// <param name="Detail">The problem's detail.</param>
/// <param name="AuditReason">The reason in the audit event.</param>
/// <param name="ToolId">The tool the request named, when it is configured (for metrics).</param>
public sealed record ProxyRefusal(int Status, string Code, string[]? Challenges, string Title, string Detail, string AuditReason, string? ToolId)
{
    /// <summary>
    /// For a refused MCP message: the JSON-RPC error answering it (with its <c>id</c>), sent as the
    /// body instead of a problem, so an MCP client reads why. Null for any other refusal.
    /// </summary>
    public string? JsonRpcError { get; init; }

    /// <summary>For a refusal by an MCP tool: the label of what was refused (<see cref="Mcp.McpMethods.MetricLabel"/>); null for any other tool.</summary>
    public string? McpLabel { get; init; }

    /// <summary>The problem title of each status the proxy answers itself.</summary>
    public static string TitleFor(int status) => status switch
    {
        400 => "Refused: ambiguous or malformed request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Unknown tool",
        413 => "Request body too large",
        502 => "Bad gateway",
        503 => "Unavailable",
        504 => "Gateway timeout",
        _ => "Refused",
    };

    /// <summary>The detail of a 413: the limit, when the server has one.</summary>
    public static string TooLarge(long? maxBodySize) => maxBodySize is { } max
        ? $"the request body is larger than the {max} bytes the proxy accepts"
        : "the request body is too large";
}
