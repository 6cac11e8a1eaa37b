namespace Tessera.Core.Mcp;

/// <summary>Why an MCP message is refused before any rule is consulted: a stable code and a description that never quotes the body.</summary>
public sealed record McpProblem(string Code, string Description);
