using Tessera.Core.Revocation;
using Tessera.Core.Tokens;

namespace Tessera.Core.Mcp;

/// <summary>
/// What the server needs, past the decision, about the token an MCP request was granted to: the
/// session id it forwards (the server's own, untagged) and how to tag the one the server answers
/// with (<see cref="McpSessionBinding"/>) for this token's identity; and whether the token is still
/// valid, for an answer that streams past the moment it was granted. One per granted MCP request.
/// </summary>
public sealed class McpConnection
{
    private readonly McpSessionBinding _sessions;
    private readonly string _tool;
    private readonly AccessTokenClaims _claims;
    private readonly RevocationIndex _revocations;
    private readonly TimeProvider _time;

    internal McpConnection(McpSessionBinding sessions, string tool, AccessTokenClaims claims, string? sessionId, RevocationIndex revocations, TimeProvider time)
    {
        _sessions = sessions;
        _revocations = revocations;
        _time = time;
        _tool = tool;
        _claims = claims;
        SessionId = sessionId;
    }

    /// <summary>The server's session id to forward (the agent's tag checked and removed); null when the request named no session.</summary>
    public string? SessionId { get; }

    /// <summary>The <c>Mcp-Session-Id</c> the agent receives for the server's <paramref name="sessionId"/>; null when it is not passed on.</summary>
    public string? TagSession(string sessionId) => _sessions.Tag(_tool, _claims.ClientId, _claims.Subject, sessionId);

    /// <summary>When the token expires: a stream answering it ends then.</summary>
    public DateTimeOffset ExpiresAt => DateTimeOffset.FromUnixTimeSeconds(_claims.ExpiresAt);

    /// <summary>
    /// Whether a stream answering this request must end now because its token expired or was revoked
    /// (checked in memory, as every request is).
    /// </summary>
    public McpTokenEnd TokenEnded()
    {
        if (_time.GetUtcNow().ToUnixTimeSeconds() >= _claims.ExpiresAt)
        {
            return McpTokenEnd.Expired;
        }

        return _revocations.IsRevoked(_claims.Jti, _claims.Lineage, _claims.Principal, _claims.Agents, _claims.IssuedAt) ? McpTokenEnd.Revoked : McpTokenEnd.StillValid;
    }
}
