using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol.Client;

namespace Tessera.Server.Tests.Mcp;

/// <summary>
/// Connects the official SDK client (Streamable HTTP) to an MCP endpoint, an agent's view of a tool.
/// The credentials go on every HTTP request the SDK sends (POST, GET stream, DELETE) through a
/// handler under the SDK's HttpClient, so a test can also sign each request (DPoP) or change the
/// token between requests.
/// </summary>
public static class McpTestClient
{
    /// <summary>The last revision with the initialize handshake and sessions (Mcp-Session-Id, GET stream, DELETE).</summary>
    public const string SessionProtocol = "2025-11-25";

    /// <summary>The revision without initialize or sessions, with Mcp-Method/Mcp-Name headers; the SDK's preference by default.</summary>
    public const string StatelessProtocol = "2026-07-28";

    /// <summary>Connects sending <c>Authorization: Bearer {token}</c> on every request.</summary>
    public static Task<McpClient> ConnectAsync(
        Uri endpoint,
        string bearerToken,
        CancellationToken cancellationToken,
        string? protocolVersion = SessionProtocol,
        Action<HttpResponseMessage>? observe = null) =>
        ConnectAsync(endpoint, request =>
        {
            request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {bearerToken}");
            return ValueTask.CompletedTask;
        }, cancellationToken, protocolVersion, observe);

    /// <summary>
    /// Connects calling <paramref name="authorize"/> on every HTTP request just before it is sent
    /// (method and URI are final), to set Authorization, DPoP, or nothing at all.
    /// </summary>
    /// <param name="protocolVersion">The revision the client asks for; null lets the SDK choose (it prefers 2026-07-28 and falls back).</param>
    /// <param name="observe">Sees every HTTP response (headers only; the SDK reads the body), e.g. to check its framing.</param>
    public static async Task<McpClient> ConnectAsync(
        Uri endpoint,
        Func<HttpRequestMessage, ValueTask> authorize,
        CancellationToken cancellationToken,
        string? protocolVersion = SessionProtocol,
        Action<HttpResponseMessage>? observe = null)
    {
        var http = new HttpClient(new AuthorizingHandler(authorize, observe) { InnerHandler = new SocketsHttpHandler() });
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions { Endpoint = endpoint, TransportMode = HttpTransportMode.StreamableHttp },
            http,
            NullLoggerFactory.Instance,
            ownsHttpClient: true);
        return await McpClient.CreateAsync(
            transport,
            new McpClientOptions { ProtocolVersion = protocolVersion, ClientInfo = new() { Name = "tessera-tests", Version = "1.0.0" } },
            NullLoggerFactory.Instance,
            cancellationToken);
    }

    private sealed class AuthorizingHandler(Func<HttpRequestMessage, ValueTask> authorize, Action<HttpResponseMessage>? observe) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await authorize(request);
            var response = await base.SendAsync(request, cancellationToken);
            observe?.Invoke(response);
            return response;
        }
    }
}
