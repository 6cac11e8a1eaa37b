using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Tessera.Server.Proxy;

/// <summary>
/// Shapes the upstream request: the normalized path that was authorized (never the caller's raw
/// one), none of the caller's credentials, and the tool's credential from the vault.
/// </summary>
internal sealed class CredentialTransformer(string pathAndQuery, string? header, string? value) : HttpTransformer
{
    /// <summary>
    /// Caller headers that never reach an upstream: its credentials (the upstream trusts Tessera's,
    /// not the agent's), and forwarding headers a caller could forge.
    /// </summary>
    internal static readonly string[] StrippedHeaders =
    [
        "Authorization", "Proxy-Authorization", "DPoP", "Cookie",
        "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix", "X-Real-IP",
    ];

    private static readonly UriCreationOptions Exact = new() { DangerousDisablePathAndQueryCanonicalization = true };

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);

        // The path was normalized and re-encoded by ProxyPath; forward exactly that string, so the
        // upstream sees the path the rule matched and System.Uri does not reinterpret it.
        proxyRequest.RequestUri = new Uri(destinationPrefix + pathAndQuery, Exact);
        proxyRequest.Headers.Host = null;
        foreach (var name in StrippedHeaders)
        {
            proxyRequest.Headers.Remove(name);
        }

        if (header is not null && value is not null)
        {
            proxyRequest.Headers.Remove(header);
            proxyRequest.Headers.TryAddWithoutValidation(header, value);
        }
    }
}
