namespace Tessera.Client.Mcp;

/// <summary>One MCP tool call a person approved: the token Tessera issued for exactly it.</summary>
/// <param name="Tool">The Tessera tool (the MCP endpoint <c>/proxy/{tool}</c>).</param>
/// <param name="Name">The MCP tool called (<c>params.name</c>).</param>
/// <param name="ArgumentsSha256">The SHA-256 of the canonical arguments the approval is bound to.</param>
/// <param name="Token">The token bound to that call.</param>
internal sealed record ApprovedMcpCall(string Tool, string Name, string ArgumentsSha256, TesseraToken Token);
