using Yarp.ReverseProxy.Forwarder;

/// <summary>Forwards to the MCP endpoint itself (no path appended), with the upstream's credential in Authorization.</summary>
internal sealed class McpCredentialTransformer(Uri endpoint, string authorization) : HttpTransformer
{
    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        proxyRequest.RequestUri = endpoint;
        proxyRequest.Headers.Host = null;
        proxyRequest.Headers.Remove("Authorization");
        proxyRequest.Headers.TryAddWithoutValidation("Authorization", authorization);
    }
}
