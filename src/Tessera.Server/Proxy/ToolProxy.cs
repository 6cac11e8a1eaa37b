using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Tessera.Core.Mcp;
using Tessera.Core.Protocol;
using Tessera.Core.Proxy;
using Tessera.Core.Telemetry;
using Tessera.Server.Hosting;
using Yarp.ReverseProxy.Forwarder;

namespace Tessera.Server.Proxy;

/// <summary>
/// <c>/proxy/{tool}/{**path}</c> (docs/reference/http-api.md, "Proxy"): the HTTP side of the proxy. Every decision is
/// <see cref="ProxyService"/>'s; this class reads the request, forwards with YARP and writes answers.
/// <list type="number">
/// <item>Hand the request to <see cref="ProxyService.AuthorizeAsync"/> (as an <see cref="HttpProxyRequest"/>):
/// token, DPoP binding, path, query, rules, exact request, credential, audit health and <c>max_uses</c>
/// are decided there, and a refusal or the <c>proxy.forwarded</c> event is on record when it returns.</item>
/// <item>On a refusal: count it, set its <c>WWW-Authenticate</c> challenges, write its problem (RFC 9457).</item>
/// <item>On a grant: forward with YARP to the tool's upstream, the normalized path and the vault's
/// credential put in place by <see cref="CredentialTransformer"/>, which also removes any response header
/// that echoes the credential.</item>
/// <item>If forwarding failed before the response started, answer 413 or 400 for a body the client could
/// not send, 504 for a timeout, 502 otherwise.</item>
/// <item>Record the outcome (<see cref="ProxyService.RecordOutcome"/>) with the status and latency.</item>
/// </list>
/// Nothing refused reaches the upstream, and every request, forwarded or refused, is on record.
/// </summary>
internal sealed partial class ToolProxy(ProxyService proxy, IHttpForwarder forwarder, TimeProvider time, ILogger<ToolProxy> logger) : IDisposable
{
    private readonly HttpMessageInvoker _client = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        EnableMultipleHttp2Connections = true,
        ActivityHeadersPropagator = null,
    });

    public async Task HandleAsync(HttpContext context)
    {
        // 1. Decide (and record).
        var verdict = await proxy.AuthorizeAsync(new HttpProxyRequest(context));

        // 2. Refused: answered here, never forwarded.
        if (verdict.Refusal is { } refusal)
        {
            TesseraMetrics.ProxyRequests.WithLabels(refusal.ToolId ?? "", "refused").Inc();
            if (refusal.McpLabel is { } label)
            {
                TesseraMetrics.McpMessages.WithLabels(refusal.ToolId!, label, "refused").Inc();
            }

            if (refusal.Challenges is { } challenges)
            {
                context.Response.Headers.WWWAuthenticate = challenges;
            }

            if (refusal.JsonRpcError is { } rpcError)
            {
                // An MCP client reads a JSON-RPC error answering its message's id.
                context.Response.StatusCode = refusal.Status;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(rpcError);
                return;
            }

            await WriteProblemAsync(context, refusal.Status, refusal.Title, refusal.Detail);
            return;
        }

        // 3. Forward.
        var grant = verdict.Grant;
        var tool = grant.Tool;
        var started = time.GetTimestamp();
        var transformer = new CredentialTransformer(grant.Path.Encoded + grant.Query, grant.CredentialHeader, grant.Credential, grant.CredentialFormat, grant.McpFilter, grant.McpList, grant.Mcp,
            silence: HttpMethods.IsGet(context.Request.Method) ? TimeSpan.Zero : tool.Options.Timeout, time);
        ForwarderError error;
        using (var span = TesseraTrace.Start(TesseraTrace.Upstream))
        {
            span?.SetTag(TesseraTrace.ToolAttribute, tool.Id);
            error = await forwarder.SendAsync(
                context,
                grant.IsMcp ? grant.Upstream.GetLeftPart(UriPartial.Path) : grant.Upstream.GetLeftPart(UriPartial.Path).TrimEnd('/'),
                _client,
                new ForwarderRequestConfig { ActivityTimeout = tool.Options.Timeout },
                transformer);
            if (span is { IsAllDataRequested: true })
            {
                span.SetTag("http.response.status_code", context.Response.StatusCode);
                if (error != ForwarderError.None)
                {
                    span.SetStatus(System.Diagnostics.ActivityStatusCode.Error, error.ToString());
                }
            }
        }

        var latency = time.GetElapsedTime(started).TotalMilliseconds;
        if (transformer.Removed is { } removed)
        {
            Log.CredentialEchoed(logger, tool.Id, string.Join(", ", removed));
        }

        // An MCP list answer that could not be filtered was not passed on: the request failed.
        var unfiltered = transformer.Filtered == McpFilterOutcome.Refused;
        if (unfiltered)
        {
            Log.AnswerNotFiltered(logger, tool.Id);
            if (!context.Response.HasStarted)
            {
                await WriteProblemAsync(context, 502, ProxyRefusal.TitleFor(502), $"tool '{tool.Id}' answered with a list Tessera could not filter; it was not passed on");
            }
        }

        // A stream that its token outlived, or that its upstream left silent too long, was cut.
        var (cutShort, cutCode) = transformer.Answer switch
        {
            { Ended: McpTokenEnd.Revoked } => ("the token was revoked while its answer was streaming; the stream was ended", RefusalCodes.McpStreamTokenRevoked),
            { Ended: McpTokenEnd.Expired } => ("the token expired while its answer was streaming; the stream was ended", RefusalCodes.McpStreamTokenExpired),
            { Silent: true } => ($"tool '{tool.Id}' sent nothing for {tool.Options.Timeout.TotalSeconds:0.###} s; the answer was ended", RefusalCodes.ProxyUpstreamTimeout),
            _ => ((string?)null, (string?)null),
        };

        var outcome = error == ForwarderError.None && !unfiltered && cutShort is null ? "forwarded" : "failed";
        TesseraMetrics.ProxyRequests.WithLabels(tool.Id, outcome).Inc();
        if (grant.IsMcp)
        {
            TesseraMetrics.McpMessages.WithLabels(tool.Id, McpMethods.MetricLabel(context.Request.Method, grant.Forwarded.McpMethod), outcome).Inc();
        }

        // 4. Forwarding failed: answer for the upstream, or for the client's body.
        string? failureCode = null;
        if (error != ForwarderError.None)
        {
            // A body the client could not send (over the size limit, or malformed chunks) is the
            // client's failure, answered as Kestrel would (413 or 400); anything else is the upstream's.
            var clientStatus = error is ForwarderError.RequestBodyClient ? BadRequestStatus(context.Features.Get<IForwarderErrorFeature>()?.Exception) : null;
            var timedOut = error is ForwarderError.RequestTimedOut;
            failureCode = ProxyService.FailureCode(clientStatus, timedOut);
            if (clientStatus is null)
            {
                Log.UpstreamFailed(logger, tool.Id, error);
            }

            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                var status = clientStatus ?? (timedOut ? 504 : 502);
                await WriteProblemAsync(context, status, ProxyRefusal.TitleFor(status), clientStatus switch
                {
                    413 => ProxyRefusal.TooLarge(context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize),
                    not null => "the request body could not be read",
                    _ => timedOut
                        ? $"tool '{tool.Id}' did not answer within {tool.Options.Timeout.TotalSeconds:0.###} s"
                        : $"tool '{tool.Id}' could not be reached",
                });
            }
        }

        // 5. The outcome needs the upstream's status and latency, so it follows the upstream's answer.
        proxy.RecordOutcome(in grant, context.Response.StatusCode, latency,
            error != ForwarderError.None ? error.ToString() : unfiltered ? "the list answer could not be filtered" : cutShort,
            transformer.Removed, error != ForwarderError.None ? failureCode : unfiltered ? RefusalCodes.McpAnswerUnfiltered : cutCode);
    }

    private static Task WriteProblemAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        return Results.Problem(statusCode: status, title: title, detail: detail).ExecuteAsync(context);
    }

    /// <summary>The status Kestrel gives a body it refused to read, if that is what <paramref name="exception"/> (or an inner one) is.</summary>
    private static int? BadRequestStatus(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is BadHttpRequestException bad)
            {
                return bad.StatusCode;
            }
        }

        return null;
    }

    public void Dispose() => _client.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Upstream of tool {Tool} failed: {Error}")]
        public static partial void UpstreamFailed(ILogger logger, string tool, ForwarderError error);

        [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "MCP tool {Tool} answered a list request with a body Tessera could not filter (not JSON-RPC it can read unambiguously, or too large); it was not passed on")]
        public static partial void AnswerNotFiltered(ILogger logger, string tool);

        [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Tool {Tool} answered with headers carrying its own credential ({Headers}); they were removed before the response reached the agent")]
        public static partial void CredentialEchoed(ILogger logger, string tool, string headers);
    }
}
