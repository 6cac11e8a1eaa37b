using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

// The MCP server behind /proxy/issues in the load harness: the official SDK's Streamable HTTP
// transport at /mcp, stateless (every POST stands alone, as the 2026-07-28 revision has it: no
// initialize, no session), with get_issue and search_issues (cheap: each answers one short text)
// and tool_000..tool_199, so tools/list answers a list of 202 tools. A request whose Authorization
// is not MCP_UPSTREAM_AUTH (the credential Tessera injects from the vault) is answered 401.
// The SDK answers a POST as text/event-stream; MCP_UPSTREAM_JSON=1 sends the JSON-RPC message it
// carries as an application/json body instead (the other framing a server may choose).
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.Services.AddMcpServer(server => server.ServerInfo = new Implementation { Name = "bench-issues", Version = "1.0.0" })
    .WithHttpTransport(transport => transport.SessionMode = HttpServerSessionMode.Stateless)
    .WithTools(Tools());
var app = builder.Build();
var required = Encoding.ASCII.GetBytes(Environment.GetEnvironmentVariable("MCP_UPSTREAM_AUTH")
    ?? throw new InvalidOperationException("set MCP_UPSTREAM_AUTH"));
var json = Environment.GetEnvironmentVariable("MCP_UPSTREAM_JSON") == "1";
app.Use(async (context, next) =>
{
    var presented = Encoding.ASCII.GetBytes(context.Request.Headers.Authorization.ToString());
    if (!CryptographicOperations.FixedTimeEquals(presented, required))
    {
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        return;
    }

    if (json && HttpMethods.IsPost(context.Request.Method))
    {
        await JsonFraming.AnswerAsync(context, next);
        return;
    }

    await next(context);
});
app.MapMcp("/mcp");
app.Run();

static IEnumerable<McpServerTool> Tools()
{
    yield return McpServerTool.Create(
        (int number) => string.Create(CultureInfo.InvariantCulture, $"issue #{number}: widgets break on Tuesdays (open)"),
        new McpServerToolCreateOptions { Name = "get_issue", Description = "Get one issue by its number.", ReadOnly = true });
    yield return McpServerTool.Create(
        (string query) => $"no issue matches '{query}'",
        new McpServerToolCreateOptions { Name = "search_issues", Description = "Search issues by text.", ReadOnly = true });
    for (var i = 0; i < 200; i++)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"tool_{i:000}");
        yield return McpServerTool.Create(
            (string input) => input,
            new McpServerToolCreateOptions { Name = name, Description = $"A generated tool ({name}) that makes the list long." });
    }
}
