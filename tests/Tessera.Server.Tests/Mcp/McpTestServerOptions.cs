using ModelContextProtocol.AspNetCore;

namespace Tessera.Server.Tests.Mcp;

/// <summary>What an <see cref="McpTestServer"/> looks like; the defaults are a small server answering with SSE.</summary>
public sealed record McpTestServerOptions
{
    public McpResponseMode ResponseMode { get; init; } = McpResponseMode.Sse;

    /// <summary>
    /// Initialize-handshake clients (2025-11-25 and older) get a session (Mcp-Session-Id, GET stream,
    /// DELETE); 2026-07-28 clients are served per request, as the SDK's hybrid mode does.
    /// </summary>
    public HttpServerSessionMode SessionMode { get; init; } = HttpServerSessionMode.StatefulForInitializeClients;

    /// <summary>Adds tool_000 .. tool_{N-1} to the named tools, for a long tools/list.</summary>
    public int GeneratedTools { get; init; }

    /// <summary>The Authorization header value every request must carry; anything else is answered 401.</summary>
    public string RequiredAuthorization { get; init; } = McpTestServer.Credential;

    /// <summary>Whether answers are compressed with gzip.</summary>
    public McpCompression Compression { get; init; }

    /// <summary>The WWW-Authenticate header of that 401 (e.g. with resource_metadata, to see it never reaches the agent).</summary>
    public string Challenge { get; init; } = "Bearer";
}
