using Tessera.Core.Tokens;

namespace Tessera.Core.Mcp;

/// <summary>
/// What the server needs, past the decision, about the token an MCP request was granted to: the
/// session id it forwards (the server's own, untagged) and how to tag the one the server answers
/// with (<see cref="McpSessionBinding"/>) for this token's identity. One per granted MCP request.
/// </summary>
public sealed class McpConnection
{
    private readonly McpSessionBinding _sessions;
    private readonly string _tool;
    private readonly AccessTokenClaims _claims;

    internal McpConnection(McpSessionBinding sessions, string tool, AccessTokenClaims claims, string? sessionId)
    {
        _sessions = sessions;
        _tool = tool;
        _claims = claims;
        SessionId = sessionId;
    }

    /// <summary>The server's session id to forward (the agent's tag checked and removed); null when the request named no session.</summary>
    public string? SessionId { get; }

    /// <summary>The <c>Mcp-Session-Id</c> the agent receives for the server's <paramref name="sessionId"/>; null when it is not passed on.</summary>
    public string? TagSession(string sessionId) => _sessions.Tag(_tool, _claims.ClientId, _claims.Subject, sessionId);
}
