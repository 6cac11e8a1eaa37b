using System.Text.Json;

namespace Tessera.Client.Mcp;

/// <summary>
/// Under the Tessera token handler of an MCP connection: when the current flow holds approved calls
/// (<see cref="ApprovedMcpCalls"/>) and this POST is a <c>tools/call</c> of one of them (the same name,
/// arguments of the same canonical SHA-256), it replaces the connection's token with the approved one
/// (and its DPoP proof). The hash is taken of the bytes on the wire, so a call whose arguments differ
/// from the approved ones goes out with the connection's token and the gateway refuses it. Without
/// approved calls in the flow it only passes the request on.
/// </summary>
internal sealed class ApprovedCallHandler(TesseraAgent agent, string tool) : DelegatingHandler
{
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false, MaxDepth = Jcs.MaxDepth };

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        ApprovedMcpCalls.Current is { } calls && request.Method == HttpMethod.Post && request.Content is not null
            ? SendApprovedAsync(calls, request, cancellationToken)
            : base.SendAsync(request, cancellationToken);

    private async Task<HttpResponseMessage> SendApprovedAsync(ApprovedMcpCalls calls, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Buffered by the content itself, so the same bytes are sent after they are read here.
        var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (ToolCallOf(body) is var (name, hash) && calls.Take(tool, name, hash) is { } token)
        {
            request.Headers.Authorization = token.Authorization;
            request.Headers.Remove("DPoP");
            if (token.IsDPoP && agent.Endpoint.Dpop is { } dpop)
            {
                var uri = request.RequestUri!;
                request.Headers.TryAddWithoutValidation("DPoP", dpop.Create(request.Method.Method, DpopProofWriter.HtuOf(uri), token.Ath, agent.Endpoint.Nonces.For(uri)));
            }
        }

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The name and arguments hash of a JSON-RPC <c>tools/call</c> request, or null for anything else.</summary>
    private static (string Name, string Hash)? ToolCallOf(byte[] body)
    {
        try
        {
            using var message = JsonDocument.Parse(body, Strict);
            var root = message.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("method", out var method) || method.ValueKind != JsonValueKind.String || method.GetString() != "tools/call"
                || !root.TryGetProperty("params", out var parameters) || parameters.ValueKind != JsonValueKind.Object
                || !parameters.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            string? hash;
            if (!parameters.TryGetProperty("arguments", out var arguments))
            {
                hash = McpArguments.NoArgumentsSha256;
            }
            else
            {
                hash = Jcs.TrySha256Hex(arguments, out _);
            }

            return hash is null ? null : (name.GetString()!, hash);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
