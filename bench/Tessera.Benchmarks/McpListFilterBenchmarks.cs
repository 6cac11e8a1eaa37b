using System.Buffers;
using System.Text;
using Tessera.Core.Mcp;
using Tessera.Core.Tools;

namespace Tessera.Benchmarks;

/// <summary>
/// Filtered discovery on one <c>tools/list</c> answer of 202 tools (about 37 KB, each with a
/// description and an input schema) for a token whose rules show 2 of them (docs/performance.md,
/// "MCP gateway"): the cost a faster filter must beat.
/// </summary>
[MemoryDiagnoser]
public class McpListFilterBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);
    private McpListFilter _filter = null!;
    private ReadOnlyMemory<byte> _answer;

    [GlobalSetup]
    public void Setup()
    {
        var tool = new Tool(new ToolOptions
        {
            Id = "github",
            Audience = "urn:tessera:tool:github",
            Protocol = ToolProtocol.Mcp,
            Scopes = new Dictionary<string, ToolScopeOptions>
            {
                ["issues"] = new(["MCP tools/call create_issue", "MCP tools/call get_issue", "MCP tools/list"], null),
            },
        });
        var scopes = ScopeSet.Of(["github:issues"]);
        _filter = new McpListFilter(tool, scopes);
        _answer = Encoding.UTF8.GetBytes(ToolsList(200, ["create_issue", "get_issue"]));
    }

    [Benchmark]
    public int Filter()
    {
        _output.ResetWrittenCount();
        _filter.Filter(_answer, McpListKind.Tools, _output);
        return _output.WrittenCount;
    }

    /// <summary>A <c>tools/list</c> answer of <paramref name="others"/> tools plus <paramref name="shown"/>, mixed in.</summary>
    internal static string ToolsList(int others, string[] shown)
    {
        var tools = new List<string>();
        for (var i = 0; i < others; i++)
        {
            tools.Add($$$"""{"name":"tool_{{{i}}}","title":"Tool {{{i}}}","description":"Does thing number {{{i}}} to a repository, an issue or a pull request.","inputSchema":{"type":"object","properties":{"owner":{"type":"string"},"repo":{"type":"string"},"n":{"type":"integer","minimum":1}},"required":["owner","repo"]}}""");
        }

        for (var i = 0; i < shown.Length; i++)
        {
            tools.Insert((i + 1) * others / (shown.Length + 1), $$$"""{"name":"{{{shown[i]}}}","description":"Shown.","inputSchema":{"type":"object"}}""");
        }

        return $$$"""{"jsonrpc":"2.0","id":42,"result":{"tools":[{{{string.Join(",", tools)}}}],"nextCursor":"page-2"}}""";
    }
}
