using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

namespace Tessera.Client.Mcp;

/// <summary>How <see cref="TesseraMcpClientExtensions.ConnectMcpAsync(ITesseraAgent, string, IReadOnlyCollection{string}, TesseraMcpOptions, CancellationToken)"/> connects.</summary>
public sealed class TesseraMcpOptions
{
    /// <summary>The MCP client's options (client info, protocol version, handlers); the SDK's defaults when null.</summary>
    public McpClientOptions? ClientOptions { get; set; }

    /// <summary>For the SDK's transport and client logs; none when null.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Makes the handler that sends the HTTP requests, under Tessera's token handler (a proxy, a client
    /// certificate, a test server); a new <see cref="SocketsHttpHandler"/> when null. The connection owns it.
    /// </summary>
    public Func<HttpMessageHandler>? PrimaryHandler { get; set; }
}
