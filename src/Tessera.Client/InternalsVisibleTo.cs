using System.Runtime.CompilerServices;

// The MCP and Microsoft.Extensions.AI packages ship with this one, at the same version: they attach
// tokens through the agent's own handler, cache and DPoP key rather than a second copy of them.
[assembly: InternalsVisibleTo("Tessera.Client.Mcp")]
[assembly: InternalsVisibleTo("Tessera.Client.AI")]
[assembly: InternalsVisibleTo("Tessera.Client.Mcp.Tests")]
