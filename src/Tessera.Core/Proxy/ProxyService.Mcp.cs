using System.Text;
using System.Text.Json;
using Tessera.Core.Audit;
using Tessera.Core.Mcp;
using Tessera.Core.Protocol;
using Tessera.Core.Telemetry;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;
using Tessera.Core.Vault;

namespace Tessera.Core.Proxy;

/// <summary>
/// The proxy's decisions for an MCP tool (docs/mcp.md), after the token, the tool and the DPoP
/// binding are settled: the endpoint (the tool's URL itself, no path, no query), the HTTP method
/// (POST a message, GET the server's stream, DELETE the session; the last two without a body), for a POST the body read once and
/// bounded, the one JSON-RPC message in it read strictly, the <c>Mcp-Method</c> and <c>Mcp-Name</c>
/// headers against it, an approved exact call, and the rules; then the upstream, the credential, the
/// audit log's health, <c>max_uses</c> (spent only by messages a rule governs) and the durable
/// <c>proxy.forwarded</c> event with <c>mcp_method</c> and <c>mcp_name</c>.
/// </summary>
public sealed partial class ProxyService
{
    /// <summary>JSON-RPC error codes of refusals: the standard ones for a message that cannot be read, one of the server range for a policy refusal.</summary>
    private const int ParseError = -32700;
    private const int InvalidRequest = -32600;
    private const int InvalidParams = -32602;
    private const int Forbidden = -32001;

    /// <summary>MCP's code for <c>Mcp-Method</c> / <c>Mcp-Name</c> headers that disagree with the body.</summary>
    private const int HeaderMismatchCode = -32020;

    /// <summary>MCP's headers that carry a tool parameter beside the body (<c>Mcp-Param-{Name}</c>).</summary>
    private const string McpParamHeaderPrefix = "Mcp-Param-";

    /// <summary>The header naming the MCP session; the agent holds it tagged (<see cref="McpSessionBinding"/>).</summary>
    public const string McpSessionHeader = "Mcp-Session-Id";

    private async ValueTask<ProxyVerdict> AuthorizeMcpAsync<TRequest>(TRequest request, AccessTokenClaims claims, Tool tool, string rawPath, string query)
        where TRequest : IProxyRequest
    {
        if (ProxyAuthorizer.CheckAudience(claims, tool, live.Config.Server.Issuer) is { } audience)
        {
            return await RefuseMcpAsync(request, 403, audience.Code!, audience.Reason, claims, tool, null, null);
        }

        // Reject any other URL: an MCP server is one endpoint, and a path or a query Tessera does not
        // check could reach something else on the upstream.
        if (rawPath is not ("" or "/"))
        {
            return await RefuseMcpAsync(request, 404, RefusalCodes.McpWrongEndpoint, $"tool '{tool.Id}' is an MCP server, reached at /proxy/{tool.Id} itself", claims, tool, null, null);
        }

        if (query.Length > 0)
        {
            return await RefuseMcpAsync(request, 400, RefusalCodes.McpQueryNotAllowed, "an MCP endpoint takes no query string", claims, tool, null, null);
        }

        McpMessage? message = null;
        McpDecision decision;
        switch (request.Method)
        {
            case "POST":
                var read = await ReadMessageAsync(request, claims, tool);
                if (read.Refusal is { } refused)
                {
                    return refused;
                }

                message = read.Message!;
                // Reject Mcp-Param-* headers on a token bound to one approved call: a server reading a
                // parameter from such a header could act on a value other than the approved arguments.
                // (Other tokens' rules never read arguments, so for them the headers pass.)
                if (claims.AuthorizationDetails is not null && request.HasHeaderStartingWith(McpParamHeaderPrefix))
                {
                    return await RefuseMcpAsync(request, 400, RefusalCodes.McpParamHeaderWithApproval,
                        "a token bound to one approved call takes no Mcp-Param-* header: the approved arguments are in the body", claims, tool, message, null, InvalidParams);
                }

                // A token bound to one approved call lets through that call (and the session around it), nothing else.
                if (claims.AuthorizationDetails is not null && !message.IsLifecycle)
                {
                    // Fail closed: a binding we cannot read, or one to another tool, allows nothing.
                    var approved = McpCallDetail.FromClaim(claims.AuthorizationDetails);
                    var mismatch = approved is null || approved.Tool != tool.Id
                        ? "the token's authorization_details do not name a call to this tool"
                        : approved.Mismatch(message);
                    if (mismatch is not null)
                    {
                        return await RefuseMcpAsync(request, 403, RefusalCodes.McpNotTheApprovedCall, mismatch, claims, tool, message, null);
                    }
                }

                using (TesseraTrace.Start(TesseraTrace.RuleMatch))
                {
                    decision = McpAuthorizer.Authorize(claims.Scope, tool, message);
                }

                if (!decision.IsAllowed)
                {
                    return await RefuseMcpAsync(request, 403, RefusalCodes.McpNotAllowed, $"no rule of the token's scopes allows {message.Method}{(message.Target is null ? "" : " " + DisplayText.Clip(message.Target))}",
                        claims, tool, message, [InsufficientScope(decision.WouldAllow)]);
                }

                break;

            case "GET" or "DELETE":
                // Reject a body: these take no rule and no approved-call check, so a JSON-RPC call in it
                // would reach the server unread, and a server reading messages from any request would run it.
                if (request.HasBody)
                {
                    return await RefuseMcpAsync(request, 400, RefusalCodes.McpBodyNotAllowed, $"an MCP {request.Method} carries no body", claims, tool, null, null);
                }

                // The server's event stream and the end of a session: the session's lifecycle, a valid token is enough.
                decision = McpDecision.Lifecycle;
                break;

            default:
                return await RefuseMcpAsync(request, 405, RefusalCodes.McpHttpMethodNotAllowed, $"an MCP endpoint takes POST, GET and DELETE, not {DisplayText.Clip(request.Method, 16)}", claims, tool, null, null);
        }

        // Reject a session id not issued to this token's agent and principal for this tool: a session
        // id that leaked would otherwise let anyone holding a token for the tool act in that session.
        // 404 is MCP's answer for an unknown session; the client starts a new one.
        string? sessionId = null;
        var sessionHeaders = request.Header(McpSessionHeader, out var presented);
        if (sessionHeaders > 0)
        {
            sessionId = sessionHeaders == 1 && presented is not null ? mcpSessions.Untag(tool.Id, claims.ClientId, claims.Subject, presented) : null;
            if (sessionId is null)
            {
                return await RefuseMcpAsync(request, 404, RefusalCodes.McpSessionNotYours, "the Mcp-Session-Id was not issued through Tessera to this token's agent and principal for this tool", claims, tool, message, null);
            }
        }

        if (tool.Options.Upstream is not { } upstream)
        {
            return await RefuseMcpAsync(request, 502, RefusalCodes.ProxyUpstreamMissing, $"tool '{tool.Id}' has no upstream configured", claims, tool, message, null);
        }

        string? credential = null;
        if (tool.Options.Credential is { } cred)
        {
            var lookup = vault.TryFormatCredential(cred.Secret, cred.Format, out credential);
            if (lookup != CredentialLookup.Found)
            {
                return await RefuseMcpAsync(request, 503, lookup == CredentialLookup.Missing ? RefusalCodes.ProxyCredentialMissing : RefusalCodes.ProxyCredentialTampered, lookup == CredentialLookup.Missing
                    ? $"the credential of tool '{tool.Id}' is not in the vault"
                    : $"the credential of tool '{tool.Id}' failed its integrity check", claims, tool, message, null);
            }
        }

        if (!_audit.IsHealthy)
        {
            return await RefuseMcpAsync(request, 503, RefusalCodes.ProxyAuditUnhealthy, "the audit log is not accepting events", claims, tool, message, null);
        }

        // A use is an action a rule governs: the session's lifecycle around one approved call spends none.
        if (decision.Rule is not null && claims.MaxUses is { } maxUses
            && await uses.TryConsumeAsync(claims.Jti, maxUses, DateTimeOffset.FromUnixTimeSeconds(claims.ExpiresAt), request.Aborted) is null)
        {
            return await RefuseMcpAsync(request, 403, RefusalCodes.ProxyUsesSpent, $"the token's {maxUses} use(s) are spent", claims, tool, message, null);
        }

        var forwarded = ProxyAudit.Record(AuditTypes.ProxyForwarded, AuditOutcomes.Allowed, claims, tool, null, request.RequestId) with
        {
            Method = request.Method,
            Scopes = decision.Scope is null ? null : [decision.Scope],
            Rule = decision.Rule?.Text,
            McpMethod = message?.Method,
            McpName = Clip(message?.Target),
        };
        try
        {
            await audit.AppendWithinAsync(forwarded, ProxyAudit.Timeout);
        }
        catch (AuditWriteException ex)
        {
            return NotRecorded(forwarded, ex, tool);
        }

        // An answer to a list request shows only what the token may use; a GET stream's answers are
        // not tied to a request Tessera saw (a resumed stream), so any list in them is filtered.
        var list = request.Method == "GET" ? McpListKind.Any : McpListFilter.KindOf(message?.Method);
        return ProxyVerdict.Allow(new ProxyGrant
        {
            Tool = tool,
            Upstream = upstream,
            Path = ProxyPath.Endpoint,
            Query = "",
            Credential = credential,
            Forwarded = forwarded,
            McpList = list,
            McpFilter = list == McpListKind.None ? null : new McpListFilter(tool, claims.Scope),
            Mcp = new McpConnection(mcpSessions, tool.Id, claims, sessionId, revocations, time),
        });
    }

    /// <summary>
    /// RFC 9728 §5.1: a 401 from an MCP tool names the tool's protected resource metadata, where an
    /// MCP client learns which authorization server issues its tokens. Other tools' challenges are unchanged.
    /// </summary>
    private string[] WithResourceMetadata(string toolId, string[] challenges)
    {
        if (live.Current.Tools.FindById(toolId) is not { Protocol: ToolProtocol.Mcp })
        {
            return challenges;
        }

        var parameter = $"resource_metadata=\"{ProtectedResource.MetadataUrlOf(live.Config.Server.Issuer, toolId)}\"";
        return [.. challenges.Select(c => $"{c}, {parameter}")];
    }

    /// <summary>Reads the POST's one JSON-RPC message and checks the MCP headers against it; or the refusal.</summary>
    private async ValueTask<(McpMessage? Message, ProxyVerdict? Refusal)> ReadMessageAsync<TRequest>(TRequest request, AccessTokenClaims claims, Tool tool)
        where TRequest : IProxyRequest
    {
        if (!IsJson(request.ContentType))
        {
            return (null, await RefuseMcpAsync(request, 415, RefusalCodes.McpNotJsonContentType, "an MCP message is sent as application/json in UTF-8", claims, tool, null, null));
        }

        // Reject a coded body: the bytes read are the bytes forwarded, and a server that decoded them would read another message.
        var codings = request.Header("Content-Encoding", out var coding);
        if (codings > 1 || (codings == 1 && !string.Equals(coding?.Trim(), "identity", StringComparison.OrdinalIgnoreCase)))
        {
            return (null, await RefuseMcpAsync(request, 415, RefusalCodes.McpNotJsonContentType, "an MCP message is sent without a Content-Encoding", claims, tool, null, null));
        }

        if (request.ContentLength > request.MaxBodySize)
        {
            return (null, await RefuseMcpAsync(request, 413, RefusalCodes.ProxyBodyTooLarge, ProxyRefusal.TooLarge(request.MaxBodySize), claims, tool, null, null));
        }

        var body = await request.ReadBodyAsync();
        if (!body.IsRead)
        {
            return (null, await RefuseMcpAsync(request, body.RefusedStatus, body.RefusedStatus == 413 ? RefusalCodes.ProxyBodyTooLarge : RefusalCodes.ProxyBodyUnreadable,
                body.RefusedStatus == 413 ? ProxyRefusal.TooLarge(request.MaxBodySize) : "the request body could not be read", claims, tool, null, null));
        }

        var message = McpMessage.Parse(body.Content, keepArguments: claims.AuthorizationDetails is not null, out var problem);
        if (message is null)
        {
            var code = problem!.Code switch
            {
                RefusalCodes.McpInvalidJson or RefusalCodes.McpDuplicateMember => ParseError,
                RefusalCodes.McpParamsInvalid => InvalidParams,
                _ => InvalidRequest,
            };
            return (null, await RefuseMcpAsync(request, 400, problem.Code, problem.Description, claims, tool, null, null, code));
        }

        // Reject headers that name another message than the body: an intermediary routing on them
        // and the server acting on the body would disagree about what was allowed.
        if ((HeaderMismatch(request, "Mcp-Method", message.Method) ?? HeaderMismatch(request, "Mcp-Name", message.Target)) is { } mismatch)
        {
            return (null, await RefuseMcpAsync(request, 400, RefusalCodes.McpHeaderMismatch, mismatch, claims, tool, message, null, HeaderMismatchCode));
        }

        // Reject a resource URI a server could read as another resource than the one the rules match.
        if (message.Target is { } target && McpMethods.TargetOf(message.Method!) == McpTarget.Uri && McpResourceUri.Ambiguity(target) is { } ambiguity)
        {
            return (null, await RefuseMcpAsync(request, 400, RefusalCodes.McpAmbiguousUri, $"ambiguous resource URI: {ambiguity}", claims, tool, message, null, InvalidParams));
        }

        return (message, null);
    }

    private static string? HeaderMismatch<TRequest>(TRequest request, string name, string? expected)
        where TRequest : IProxyRequest
    {
        var count = request.Header(name, out var value);
        if (count == 0)
        {
            return null;
        }

        return count == 1 && expected is not null && McpHeaderValue.Decode(value) is { } decoded && string.Equals(decoded, expected, StringComparison.Ordinal)
            ? null
            : $"the {name} header does not match the message";
    }

    private static bool IsJson(string? contentType)
    {
        if (contentType is null)
        {
            return false;
        }

        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        if (semicolon < 0)
        {
            return contentType.AsSpan().Trim().Equals("application/json", StringComparison.OrdinalIgnoreCase);
        }

        // Parameters (rare: MCP clients send none): the message is read as UTF-8, so a server told
        // another charset would read other text from the same bytes.
        return System.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var parsed)
            && string.Equals(parsed.MediaType, "application/json", StringComparison.OrdinalIgnoreCase)
            && (parsed.CharSet is null || string.Equals(parsed.CharSet.Trim('"'), "utf-8", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>RFC 6750 §3.1: the scopes that would allow the message, so the agent can ask for them.</summary>
    private static string InsufficientScope(IReadOnlyList<string> wouldAllow) =>
        $"Bearer realm=\"tessera\", error=\"insufficient_scope\", scope=\"{string.Join(' ', wouldAllow)}\"";

    private static string? Clip(string? target) => target is null ? null : DisplayText.Clip(target, 256);

    /// <summary>
    /// Records the refusal of an MCP request durably (<c>proxy.denied</c> with the message's method and
    /// name) and answers it: with a JSON-RPC error carrying the message's id when the body was read
    /// (or <paramref name="rpcCode"/> says it could not be), else with a problem.
    /// </summary>
    private async ValueTask<ProxyVerdict> RefuseMcpAsync<TRequest>(TRequest request, int status, string code, string reason, AccessTokenClaims claims, Tool tool, McpMessage? message,
        string[]? challenges, int? rpcCode = null)
        where TRequest : IProxyRequest
    {
        await audit.AppendAsync(ProxyAudit.Record(AuditTypes.ProxyDenied, AuditOutcomes.Denied, claims, tool, null, request.RequestId) with
        {
            Method = request.Method.Length <= 16 ? request.Method : request.Method[..16],
            Status = status,
            Reason = reason,
            ReasonCode = code,
            McpMethod = message?.Method is { } m ? DisplayText.Clip(m, 128) : null,
            McpName = Clip(message?.Target),
        }, cancellationToken: CancellationToken.None);
        var refusal = new ProxyRefusal(status, code, challenges, ProxyRefusal.TitleFor(status), reason, reason, tool.Id)
        {
            McpLabel = McpMethods.MetricLabel(request.Method, message?.Method),
        };
        return ProxyVerdict.Refuse(message is null && rpcCode is null ? refusal : refusal with
        {
            JsonRpcError = JsonRpcErrorBody(message?.Id, rpcCode ?? Forbidden, reason),
        });
    }

    private static string JsonRpcErrorBody(string? id, int code, string message)
    {
        using var buffer = new MemoryStream();
        // Read as JSON by MCP clients, never embedded in HTML: quotes and apostrophes need no \u escape.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("jsonrpc", "2.0");
            w.WritePropertyName("id");
            if (id is null)
            {
                w.WriteNullValue();
            }
            else
            {
                // The id as the client wrote it (a string or a number), read and bounded by McpMessage.
                w.WriteRawValue(id);
            }

            w.WriteStartObject("error");
            w.WriteNumber("code", code);
            w.WriteString("message", message);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
