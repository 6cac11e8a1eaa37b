using ModelContextProtocol.Client;

namespace Tessera.Client.Mcp;

/// <summary>Connects the official MCP C# client to an MCP tool behind Tessera.</summary>
public static class TesseraMcpClientExtensions
{
    /// <inheritdoc cref="ConnectMcpAsync(ITesseraAgent, string, IReadOnlyCollection{string}, TesseraMcpOptions, CancellationToken)"/>
    public static Task<McpClient> ConnectMcpAsync(this ITesseraAgent agent, string tool, IReadOnlyCollection<string> scopes, CancellationToken cancellationToken = default) =>
        agent.ConnectMcpAsync(tool, scopes, new TesseraMcpOptions(), cancellationToken);

    /// <summary>
    /// Connects an <see cref="McpClient"/> (Streamable HTTP) to the MCP tool <paramref name="tool"/> at
    /// <c>{issuer}/proxy/{tool}</c>, with the agent's tokens for <paramref name="scopes"/> on every request
    /// it sends (the POSTs, the GET stream, the DELETE that ends the session): cached, Bearer or DPoP with a
    /// fresh proof per request, renewed once on a 401, exchanged from the current mission inside one.
    /// Tessera shows the connection only the tools, prompts and resources those scopes allow, so
    /// <c>ListToolsAsync</c> gives the <see cref="McpClientTool"/>s (AIFunctions) the agent may call and
    /// nothing more; a call the scopes do not allow is refused (an <see cref="HttpRequestException"/> with
    /// status 403) and never reaches the server. Dispose the client to end the session.
    /// </summary>
    /// <param name="agent">The agent (from <c>AddTesseraAgent</c>).</param>
    /// <param name="tool">The MCP tool's id in Tessera.</param>
    /// <param name="scopes">The scopes, as <c>tool:scope</c> or just <c>scope</c>; none asks for everything the agent may have on the tool.</param>
    /// <param name="options">The MCP client's options, logging and the HTTP handler.</param>
    /// <param name="cancellationToken">Cancels the connection (the token request and the MCP handshake).</param>
    /// <exception cref="TesseraApprovalRequiredException">A scope needs a person's approval: connect with scopes that do not, and ask for gated calls one by one.</exception>
    /// <exception cref="TesseraTokenException">Tessera refused the token request.</exception>
    public static async Task<McpClient> ConnectMcpAsync(this ITesseraAgent agent, string tool, IReadOnlyCollection<string> scopes, TesseraMcpOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tool);
        ArgumentNullException.ThrowIfNull(scopes);
        ArgumentNullException.ThrowIfNull(options);
        var tessera = agent as TesseraAgent ?? throw new ArgumentException("The agent must be the one AddTesseraAgent registers.", nameof(agent));
        var metadata = await tessera.Endpoint.MetadataAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        var endpoint = new Uri(metadata.Issuer.TrimEnd('/') + "/proxy/" + Uri.EscapeDataString(tool));

        // The token first, so a refusal (approval_required, invalid_scope) surfaces as Tessera's own exception.
        var scope = TokenKey.NormalizeScope(tool, scopes);
        await tessera.GetTokenAsync(tool, scope, cancellationToken).ConfigureAwait(false);

        var handler = new TesseraTokenHandler(tessera, tool, scope)
        {
            InnerHandler = new ApprovedCallHandler(tessera, tool) { InnerHandler = options.PrimaryHandler?.Invoke() ?? new SocketsHttpHandler() },
        };
        var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions { Endpoint = endpoint, TransportMode = HttpTransportMode.StreamableHttp, Name = "tessera:" + tool },
            http,
            options.LoggerFactory,
            ownsHttpClient: true);
        try
        {
            return await McpClient.CreateAsync(transport, options.ClientOptions, options.LoggerFactory, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await transport.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
