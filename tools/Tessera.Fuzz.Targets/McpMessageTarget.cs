using System.Buffers;
using Tessera.Core.Configuration;
using Tessera.Core.Mcp;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;

namespace Tessera.Fuzz.Targets;

/// <summary>
/// The MCP gateway's reading of JSON-RPC: the same bytes as an agent's request (<see cref="McpMessage.Parse"/>),
/// as an upstream's JSON answer filtered for a token (<see cref="McpListFilter.Filter"/>) and as an upstream's
/// event stream (<see cref="McpEventStream.CopyAsync"/>). Each gives a message or a problem, an outcome.
/// </summary>
internal static class McpMessageTarget
{
    private static readonly McpListFilter Filter = new(
        new Tool(new ToolOptions
        {
            Id = "github",
            Audience = "urn:tessera:tool:github",
            Protocol = ToolProtocol.Mcp,
            Scopes = new Dictionary<string, ToolScopeOptions>
            {
                ["search"] = new(["MCP tools/call search_*", "MCP tools/list", "MCP prompts/list", "MCP resources/list"], null),
                ["docs"] = new(["MCP resources/read repo://acme/docs/**", "MCP prompts/get summarize"], null),
            },
        }),
        ScopeSet.Of(["github:search", "github:docs"]));

    public static void Run(ReadOnlySpan<byte> input)
    {
        var body = input.ToArray();
        var message = McpMessage.Parse(body, keepArguments: true, out var problem);
        if ((message is null) == (problem is null))
        {
            throw new InvalidOperationException("McpMessage.Parse must give exactly one of a message and a problem");
        }

        var output = new ArrayBufferWriter<byte>();
        _ = Filter.Filter(body, McpListKind.Any, output);

        using var source = new MemoryStream(body, writable: false);
        _ = McpEventStream.CopyAsync(source, Stream.Null, Filter, McpListKind.Any, null, CancellationToken.None).GetAwaiter().GetResult();
    }
}
