namespace Tessera.Server.Tests.Mcp;

/// <summary>Whether <see cref="McpTestServer"/> compresses its answers (the SDK itself never does; a reverse proxy in front of it may).</summary>
public enum McpCompression
{
    None,

    /// <summary>gzip when the request's Accept-Encoding allows it, as a well-behaved compressing proxy does.</summary>
    WhenAccepted,

    /// <summary>gzip whatever the request asked for, as a misconfigured one does.</summary>
    Always,
}
