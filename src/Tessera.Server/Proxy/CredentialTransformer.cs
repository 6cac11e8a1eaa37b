using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Tessera.Core.Mcp;
using Tessera.Core.Proxy;
using Yarp.ReverseProxy.Forwarder;

namespace Tessera.Server.Proxy;

/// <summary>
/// Shapes the upstream request: the normalized path that was authorized (never the caller's raw
/// one), none of the caller's credentials, hop-by-hop or client-address headers, and the tool's
/// credential from the vault. Shapes the
/// response: no header that carries that credential reaches the agent, and no challenge of an MCP
/// server (its WWW-Authenticate).
/// </summary>
/// <remarks>
/// For an MCP tool's answer to a list request (a <paramref name="filter"/> is given), the body is
/// written here through <see cref="McpAnswerWriter"/> instead of copied by the forwarder.
/// </remarks>
internal sealed class CredentialTransformer(string pathAndQuery, string? header, string? value, string? format, McpListFilter? filter = null, McpListKind list = McpListKind.None, McpConnection? mcp = null,
    TimeSpan silence = default, TimeProvider? time = null)
    : HttpTransformer
{
    private static readonly UriCreationOptions Exact = new() { DangerousDisablePathAndQueryCanonicalization = true };

    /// <summary>Names of the upstream's response headers (or trailers) that were dropped because they carried the credential; null when none.</summary>
    public List<string>? Removed { get; private set; }

    /// <summary>What filtering did to an MCP list answer; <see cref="McpFilterOutcome.Refused"/> means the answer was not passed on.</summary>
    public McpFilterOutcome? Filtered => Answer?.Filtered;

    /// <summary>What became of an MCP answer written here (filtered, ended with its token, cut for silence); null when the forwarder copied it.</summary>
    public McpAnswerWriter.McpAnswer? Answer { get; private set; }

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);

        // The path was normalized and re-encoded by ProxyPath; forward exactly that string, so the
        // upstream sees the path the rule matched and System.Uri does not reinterpret it.
        proxyRequest.RequestUri = new Uri(destinationPrefix + pathAndQuery, Exact);
        proxyRequest.Headers.Host = null;

        // Remove what is not the agent's end-to-end request (ProxyHeaders) and every header the
        // Connection header names, before the credential is added: naming the credential's header
        // there cannot remove it.
        foreach (var name in ProxyHeaders.Stripped)
        {
            proxyRequest.Headers.Remove(name);
        }

        var connection = httpContext.Request.Headers.Connection;
        if (connection.Count > 0 && ProxyHeaders.ConnectionOptions(connection, out _) is { } options)
        {
            foreach (var name in options)
            {
                proxyRequest.Headers.Remove(name);
            }
        }

        // An answer Tessera filters is read as it comes: ask for it uncompressed (McpAnswerWriter
        // refuses a compressed one), whatever encodings the agent accepts.
        if (filter is not null)
        {
            proxyRequest.Headers.Remove("Accept-Encoding");
        }

        // The agent holds the session id tagged for its token; the server gets its own id back, checked.
        if (mcp is not null)
        {
            proxyRequest.Headers.Remove(ProxyService.McpSessionHeader);
            if (mcp.SessionId is { } sessionId)
            {
                proxyRequest.Headers.TryAddWithoutValidation(ProxyService.McpSessionHeader, sessionId);
            }
        }

        if (header is not null && value is not null)
        {
            proxyRequest.Headers.Remove(header);
            proxyRequest.Headers.TryAddWithoutValidation(header, value);
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var proceed = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        Scrub(httpContext.Response.Headers);
        if (mcp is not null)
        {
            // The session the server opens is handed to the agent bound to its token (McpSessionBinding);
            // an id that cannot be bound (two of them, not visible ASCII) is not passed on.
            var sessions = httpContext.Response.Headers[ProxyService.McpSessionHeader];
            if (sessions.Count > 0)
            {
                var tagged = sessions.Count == 1 && sessions[0] is { } id ? mcp.TagSession(id) : null;
                httpContext.Response.Headers.Remove(ProxyService.McpSessionHeader);
                if (tagged is not null)
                {
                    httpContext.Response.Headers[ProxyService.McpSessionHeader] = tagged;
                }
            }

            // An MCP server's challenge is about the vault's credential and names its own authorization
            // server; an MCP client follows resource_metadata by itself (RFC 9728) and would take its
            // user there. The agent's challenges are Tessera's alone.
            httpContext.Response.Headers.Remove(HeaderNames.WWWAuthenticate);
        }
        if (!proceed || filter is null || proxyResponse is null || !proxyResponse.IsSuccessStatusCode || proxyResponse.StatusCode == System.Net.HttpStatusCode.Accepted)
        {
            return proceed;
        }

        // The body is this transformer's to write (filtered); the forwarder copies nothing more.
        Answer = await McpAnswerWriter.WriteAsync(httpContext, proxyResponse, filter, list, mcp, silence, time ?? TimeProvider.System);
        if (Filtered == McpFilterOutcome.Refused && !httpContext.Response.HasStarted)
        {
            httpContext.Response.Clear();
            httpContext.Response.StatusCode = StatusCodes.Status502BadGateway;
        }

        return false;
    }

    public override async ValueTask TransformResponseTrailersAsync(HttpContext httpContext, HttpResponseMessage proxyResponse, CancellationToken cancellationToken)
    {
        await base.TransformResponseTrailersAsync(httpContext, proxyResponse, cancellationToken);
        if (httpContext.Features.Get<IHttpResponseTrailersFeature>()?.Trailers is { IsReadOnly: false } trailers)
        {
            Scrub(trailers);
        }
    }

    /// <summary>
    /// Drops every header with a value that contains the raw secret (and so any header holding the
    /// whole injected value): an upstream that echoes request headers would otherwise hand the
    /// tool's credential to the agent.
    /// </summary>
    private void Scrub(IHeaderDictionary headers)
    {
        if (value is null)
        {
            return;
        }

        var secret = value.AsSpan()[CredentialEcho.SecretIn(value, format)];
        List<string>? carrying = null;
        foreach (var (name, values) in headers)
        {
            foreach (var v in values)
            {
                if (v is not null && CredentialEcho.Contains(v, secret))
                {
                    (carrying ??= []).Add(name);
                    break;
                }
            }
        }

        if (carrying is null)
        {
            return;
        }

        foreach (var name in carrying)
        {
            headers.Remove(name);
        }

        (Removed ??= []).AddRange(carrying);
    }
}
