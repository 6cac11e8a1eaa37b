using Microsoft.Extensions.AI;
using ModelContextProtocol.Client;

namespace Tessera.Client.AI;

/// <summary>
/// An MCP tool behind Tessera whose calls need a person's approval in Tessera (a scope with
/// <c>approval</c>): the tool, and which Tessera tool and gated scopes allow calling it. Wrapped in an
/// <see cref="ApprovalRequiredAIFunction"/> (<see cref="TesseraGatedMcpToolExtensions.RequireTesseraApproval"/>)
/// it makes the function-invoking chat client ask before calling, and <c>UseTesseraApprovals</c> answers
/// with a Tessera approval bound to the exact call.
/// </summary>
public sealed class TesseraGatedMcpTool : DelegatingAIFunction
{
    /// <summary>Describes <paramref name="mcpTool"/> as needing <paramref name="scopes"/> of <paramref name="tool"/>.</summary>
    /// <param name="mcpTool">
    /// The MCP tool, on a connection from <c>ConnectMcpAsync</c> for the same Tessera tool. A gated tool is not
    /// in the connection's <c>tools/list</c> (its scope is not in the connection's token), so it is usually made
    /// from its definition: <c>new McpClientTool(client, new Tool { Name = ..., InputSchema = ... })</c>.
    /// </param>
    /// <param name="tool">The Tessera tool (the MCP endpoint <c>/proxy/{tool}</c>).</param>
    /// <param name="scopes">The approval-gated scopes whose rules allow the call, as <c>tool:scope</c> or <c>scope</c>.</param>
    public TesseraGatedMcpTool(McpClientTool mcpTool, string tool, params string[] scopes)
        : base(mcpTool)
    {
        ArgumentException.ThrowIfNullOrEmpty(tool);
        ArgumentNullException.ThrowIfNull(scopes);
        if (scopes.Length == 0)
        {
            throw new ArgumentException("Name the approval-gated scope that allows the call.", nameof(scopes));
        }

        McpTool = mcpTool;
        Tool = tool;
        Scopes = [.. scopes];
    }

    /// <summary>The MCP tool called once approved.</summary>
    public McpClientTool McpTool { get; }

    /// <summary>The Tessera tool the call goes through.</summary>
    public string Tool { get; }

    /// <summary>The approval-gated scopes asked for, bound to the one call.</summary>
    public IReadOnlyList<string> Scopes { get; }
}
