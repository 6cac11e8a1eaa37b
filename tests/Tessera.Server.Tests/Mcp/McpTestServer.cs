using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Tessera.Server.Tests.Mcp;

/// <summary>
/// A real MCP server (the official SDK's Streamable HTTP transport) on a loopback port, standing in
/// for an MCP tool's upstream. It records every request that reaches it before anything else looks at
/// it, and answers 401 to a request without the configured credential, so tests can prove what
/// arrived, with which Authorization header, and what never did. Every tool echoes its name and
/// arguments, every prompt its arguments, so tests can check what the SDK handlers received.
/// </summary>
public sealed class McpTestServer : IAsyncDisposable
{
    /// <summary>The credential the vault holds for this upstream; the agent's token must never be it.</summary>
    public const string Credential = "Bearer upstream-secret";

    /// <summary>The tools every server has, besides the generated ones.</summary>
    public static readonly IReadOnlyList<string> NamedTools = ["search_issues", "get_issue", "create_issue", "delete_issue", "delete_repo"];

    public const string ReadmeUri = "repo://acme/widgets/readme";
    public const string SecretKeysUri = "repo://acme/secret/keys";
    public const string IssueTemplate = "repo://{owner}/{repo}/issues/{number}";

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<TaskCompletionSource<ReceivedRequest>> _arrivals = [];

    private McpTestServer(WebApplication app)
    {
        _app = app;
        Endpoint = new Uri(new Uri(app.Urls.First()), "/mcp");
    }

    /// <summary>The MCP endpoint (http://127.0.0.1:{port}/mcp).</summary>
    public Uri Endpoint { get; }

    /// <summary>Every request that reached the server, in arrival order, before authentication.</summary>
    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    /// <summary>Completes when the <paramref name="n"/>th request (counting from 1) has arrived: background traffic awaited without sleeping.</summary>
    public Task<ReceivedRequest> ArrivalAsync(int n)
    {
        lock (_lock)
        {
            return Arrival(n).Task;
        }
    }

    /// <summary>The JSON-RPC method of each POST that reached the server (null for a body that is no single request or notification).</summary>
    public IReadOnlyList<string?> ReceivedMethods() =>
        [.. Received.Where(r => r.Method == "POST").Select(r => JsonRpcMethod(r.Body))];

    public static async Task<McpTestServer> StartAsync(McpTestServerOptions? options = null)
    {
        options ??= new McpTestServerOptions();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddMcpServer(server => server.ServerInfo = new Implementation { Name = "acme-issues", Version = "1.0.0" })
            .WithHttpTransport(transport => transport.SessionMode = options.SessionMode)
            .WithTools(Tools(options.GeneratedTools))
            .WithResources(Resources())
            .WithPrompts(Prompts());
        var app = builder.Build();
        McpTestServer? server = null;
        var required = Encoding.ASCII.GetBytes(options.RequiredAuthorization);
        app.Use(async (context, next) =>
        {
            await server!.RecordAsync(context);
            var presented = Encoding.ASCII.GetBytes(context.Request.Headers.Authorization.ToString());
            if (!CryptographicOperations.FixedTimeEquals(presented, required))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = options.Challenge;
                return;
            }

            if (options.Compression == McpCompression.Always
                || (options.Compression == McpCompression.WhenAccepted && context.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase)))
            {
                await CompressedAsync(context, c => Answer(options, c, next));
                return;
            }

            await Answer(options, context, next);
        });
        app.MapMcp("/mcp");
        await app.StartAsync();
        server = new McpTestServer(app);
        return server;
    }

    private static Task Answer(McpTestServerOptions options, HttpContext context, RequestDelegate next) =>
        options.ResponseMode == McpResponseMode.Json && HttpMethods.IsPost(context.Request.Method) ? JsonFraming.AnswerAsync(context, next) : next(context);

    /// <summary>The answer through gzip, flushed as the SDK flushes (an event stream stays a stream), with Content-Encoding: gzip.</summary>
    private static async Task CompressedAsync(HttpContext context, RequestDelegate answer)
    {
        var original = context.Response.Body;
        context.Response.OnStarting(() =>
        {
            context.Response.Headers.ContentEncoding = "gzip";
            context.Response.ContentLength = null;
            return Task.CompletedTask;
        });
        var gzip = new System.IO.Compression.GZipStream(original, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true);
        context.Response.Body = gzip;
        try
        {
            await answer(context);
        }
        finally
        {
            await gzip.DisposeAsync();
            context.Response.Body = original;
        }
    }

    /// <summary>
    /// Each tool answers with its name and the arguments it received, as JSON text. The named tools take
    /// typed parameters (so tools/list carries real input schemas); the SDK binds them and the
    /// RequestContext, which is left out of the schema.
    /// </summary>
    private static IEnumerable<McpServerTool> Tools(int generated)
    {
        yield return Tool("search_issues", (string query, RequestContext<CallToolRequestParams> request) => Echo(request));
        yield return Tool("get_issue", (int number, RequestContext<CallToolRequestParams> request) => Echo(request));
        yield return Tool("create_issue", (string title, string[]? labels, RequestContext<CallToolRequestParams> request) => Echo(request));
        yield return Tool("delete_issue", (int number, RequestContext<CallToolRequestParams> request) => Echo(request));
        yield return Tool("delete_repo", (string repo, RequestContext<CallToolRequestParams> request) => Echo(request));
        for (var i = 0; i < generated; i++)
        {
            yield return McpServerTool.Create(Echo, new McpServerToolCreateOptions
            {
                Name = string.Create(CultureInfo.InvariantCulture, $"tool_{i:000}"),
                Description = "A generated tool for a long list.",
            });
        }
    }

    private static McpServerTool Tool(string name, Delegate handler) => McpServerTool.Create(handler, new McpServerToolCreateOptions
    {
        Name = name,
        Description = $"Acme issue tracker: {name.Replace('_', ' ')}.",
        Destructive = name.StartsWith("delete_", StringComparison.Ordinal),
    });

    private static string Echo(RequestContext<CallToolRequestParams> request) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["tool"] = request.Params!.Name,
            ["arguments"] = request.Params.Arguments,
        });

    private static IEnumerable<McpServerResource> Resources()
    {
        yield return McpServerResource.Create(
            () => "# Widgets\nThe widgets repository.",
            new McpServerResourceCreateOptions { UriTemplate = ReadmeUri, Name = "widgets-readme", MimeType = "text/markdown" });
        yield return McpServerResource.Create(
            () => "deploy-key: not-a-real-key",
            new McpServerResourceCreateOptions { UriTemplate = SecretKeysUri, Name = "secret-keys", MimeType = "text/plain" });
        yield return McpServerResource.Create(
            (string owner, string repo, int number) => string.Create(CultureInfo.InvariantCulture, $"issue {owner}/{repo}#{number}"),
            new McpServerResourceCreateOptions { UriTemplate = IssueTemplate, Name = "issue", MimeType = "text/plain" });
    }

    private static IEnumerable<McpServerPrompt> Prompts()
    {
        yield return McpServerPrompt.Create(
            (string issue) => $"Summarize issue {issue}.",
            new McpServerPromptCreateOptions { Name = "summarize", Description = "Summarize an issue." });
        yield return McpServerPrompt.Create(
            (string issue, string severity) => $"Triage issue {issue} at severity {severity}.",
            new McpServerPromptCreateOptions { Name = "triage", Description = "Triage an issue." });
    }

    private async Task RecordAsync(HttpContext context)
    {
        // Buffered so the SDK reads the same body after the recorder has.
        context.Request.EnableBuffering();
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        context.Request.Body.Position = 0;
        var request = new ReceivedRequest(
            context.Request.Method,
            context.Features.Get<IHttpRequestFeature>()!.RawTarget,
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            body.ToArray());
        lock (_lock)
        {
            Received.Enqueue(request);
            Arrival(Received.Count).TrySetResult(request);
        }
    }

    private TaskCompletionSource<ReceivedRequest> Arrival(int n)
    {
        while (_arrivals.Count < n)
        {
            _arrivals.Add(new TaskCompletionSource<ReceivedRequest>(TaskCreationOptions.RunContinuationsAsynchronously));
        }

        return _arrivals[n - 1];
    }

    private static string? JsonRpcMethod(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("method", out var method)
                && method.ValueKind == JsonValueKind.String
                ? method.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
