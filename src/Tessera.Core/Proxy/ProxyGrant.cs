using Tessera.Core.Audit;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;

namespace Tessera.Core.Proxy;

/// <summary>
/// A proxied request that may be forwarded, already on record as <c>proxy.forwarded</c> and with its
/// use counted: where it goes (the tool's upstream, the normalized path and the query as received)
/// and the credential to inject. Its outcome is recorded with <see cref="ProxyService.RecordOutcome"/>.
/// A struct inside <see cref="ProxyVerdict"/>: an allowed request allocates no verdict object.
/// </summary>
public readonly struct ProxyGrant
{
    public required Tool Tool { get; init; }

    public required Uri Upstream { get; init; }

    /// <summary>The normalized path the rule matched; forwarded as <see cref="ProxyPath.Encoded"/>.</summary>
    public required ProxyPath Path { get; init; }

    /// <summary>The query string as received, with its <c>?</c>, or empty.</summary>
    public required string Query { get; init; }

    /// <summary>The tool's credential from the vault, formatted for its header; null when the tool has none.</summary>
    public required string? Credential { get; init; }

    /// <summary>The durable <c>proxy.forwarded</c> event; the outcome event repeats its fields.</summary>
    public required AuditRecord Forwarded { get; init; }

    /// <summary>
    /// For an MCP tool: which list the answer carries and must be filtered
    /// (<see cref="Mcp.McpListKind.None"/> when none), and the filter of the token's rules.
    /// </summary>
    public Mcp.McpListKind McpList { get; init; }

    /// <summary>The filter of the token's rules for <see cref="McpList"/>; null when the answer passes unchanged.</summary>
    public Mcp.McpListFilter? McpFilter { get; init; }

    /// <summary>For an MCP tool: the session id to forward and how to tag the server's; null for an HTTP tool.</summary>
    public Mcp.McpConnection? Mcp { get; init; }

    /// <summary>Whether the tool is an MCP server: forwarded to its upstream URL exactly, with no path appended.</summary>
    public bool IsMcp => Tool.Protocol == ToolProtocol.Mcp;

    /// <summary>The header the credential goes into, if the tool has one.</summary>
    public string? CredentialHeader => Tool.Options.Credential?.Header;

    /// <summary>The credential's format (<c>Bearer {secret}</c>), which says where the secret sits in it.</summary>
    public string? CredentialFormat => Tool.Options.Credential?.Format;
}
