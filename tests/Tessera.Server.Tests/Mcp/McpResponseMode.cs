namespace Tessera.Server.Tests.Mcp;

/// <summary>How <see cref="McpTestServer"/> frames its answer to a POST.</summary>
public enum McpResponseMode
{
    /// <summary>The SDK's own answer: a <c>text/event-stream</c> carrying the JSON-RPC response (the SDK's only framing).</summary>
    Sse,

    /// <summary>The same response as one <c>application/json</c> body, the other framing Streamable HTTP allows.</summary>
    Json,
}
