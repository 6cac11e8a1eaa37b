namespace Tessera.Core.Mcp;

/// <summary>Whether the token a streamed MCP answer was granted to still holds (<see cref="McpConnection.TokenEnded"/>).</summary>
public enum McpTokenEnd
{
    StillValid,
    Expired,
    Revoked,
}
