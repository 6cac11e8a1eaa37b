using Microsoft.Extensions.AI;
using ModelContextProtocol.Client;

namespace Tessera.Client.AI;

/// <summary>Marks MCP tools as needing Tessera's approval.</summary>
public static class TesseraGatedMcpToolExtensions
{
    /// <summary>
    /// <paramref name="mcpTool"/> as an <see cref="ApprovalRequiredAIFunction"/> whose calls
    /// <c>UseTesseraApprovals</c> has approved in Tessera, each bound to its exact arguments.
    /// </summary>
    /// <param name="mcpTool">The MCP tool (see <see cref="TesseraGatedMcpTool(McpClientTool, string, string[])"/>).</param>
    /// <param name="tool">The Tessera tool.</param>
    /// <param name="scopes">The approval-gated scopes whose rules allow the call.</param>
    public static ApprovalRequiredAIFunction RequireTesseraApproval(this McpClientTool mcpTool, string tool, params string[] scopes) =>
        new(new TesseraGatedMcpTool(mcpTool, tool, scopes));
}
