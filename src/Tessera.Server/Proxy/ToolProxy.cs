using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Dpop;
using Tessera.Core.Proxy;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;
using Tessera.Core.Vault;
using Tessera.Server.Hosting;
using Yarp.ReverseProxy.Forwarder;

namespace Tessera.Server.Proxy;

/// <summary>
/// <c>/proxy/{tool}/{**path}</c> (docs/reference/http-api.md, "Proxy"): validates the token in memory, normalizes the path,
/// matches it against the rules of the token's scopes, counts <c>max_uses</c>, injects the tool's
/// credential from the vault and forwards with YARP. Everything refused is refused before a byte
/// reaches the upstream, and every request, forwarded or refused, appends one audit event.
/// </summary>
internal sealed partial class ToolProxy(
    AccessTokenValidator validator,
    ToolCatalog tools,
    SecretVault vault,
    ITokenUseStore uses,
    AuditLog audit,
    IHttpForwarder forwarder,
    DpopProofValidator dpop,
    TesseraConfig config,
    TimeProvider time,
    ILogger<ToolProxy> logger) : IDisposable
{
    public const string Prefix = "/proxy/";
    private const string Realm = "Bearer realm=\"tessera\"";
    private static readonly string DpopChallenge = $"DPoP realm=\"tessera\", algs=\"{string.Join(' ', DpopProofValidator.Algorithms)}\"";

    private readonly ProxyAudit _audit = new(audit, logger);

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
        var request = context.Request;
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;

        // Reject absolute-form ("GET http://host/...") and asterisk-form targets: the decision is
        // made on the origin-form path, and a second authority in the target is an ambiguity.
        if (string.IsNullOrEmpty(raw) || !raw.StartsWith(Prefix, StringComparison.Ordinal))
        {
            await RefuseAsync(context, 400, "the request target must be an origin-form path under /proxy/", null, null, null);
            return;
        }

        var queryStart = raw.IndexOf('?', Prefix.Length);
        var query = queryStart >= 0 ? raw[queryStart..] : "";
        var pathPart = queryStart >= 0 ? raw[Prefix.Length..queryStart] : raw[Prefix.Length..];
        var slash = pathPart.IndexOf('/', StringComparison.Ordinal);
        var toolId = slash >= 0 ? pathPart[..slash] : pathPart;
        var rawPath = slash >= 0 ? pathPart[slash..] : "";

        // Reject requests without exactly one access token (RFC 6750 §3, RFC 9449 §7.1).
        var token = ReadToken(request, out var dpopScheme, out var tokenProblem);
        if (token is null)
        {
            context.Response.Headers.WWWAuthenticate = tokenProblem is null
                ? new[] { Realm, DpopChallenge }
                : $"{Realm}, error=\"invalid_request\", error_description=\"{tokenProblem}\"";
            await RefuseAsync(context, tokenProblem is null ? 401 : 400, tokenProblem ?? "an access token is required (Bearer, or DPoP with a proof)", null, null, null);
            return;
        }

        // Reject tokens that are malformed, forged, expired or revoked (revocation is checked on every call).
        var validation = await validator.ValidateAsync(token, context.RequestAborted);
        if (!validation.IsActive)
        {
            context.Response.Headers.WWWAuthenticate = $"{(dpopScheme ? DpopChallenge : Realm)}, error=\"invalid_token\", error_description=\"the token is {Describe(validation.Status)}\"";
            await RefuseAsync(context, 401, $"the token is {Describe(validation.Status)}", validation.Status == TokenStatus.InvalidSignature ? null : validation.Claims, null, null);
            return;
        }

        var claims = validation.Claims!;
        var tool = tools.FindById(toolId);
        if (tool is null)
        {
            await RefuseAsync(context, 404, "no tool of that id is configured", claims, null, null);
            return;
        }

        var binding = await CheckBindingAsync(context, raw, queryStart, token, dpopScheme, claims, tool);
        if (binding is not null)
        {
            context.Response.Headers.WWWAuthenticate = $"{DpopChallenge}, error=\"{binding.Value.Error}\", error_description=\"{QuotedStringSafe(binding.Value.Description)}\"";
            await RefuseAsync(context, 401, binding.Value.Description, claims, tool, null);
            return;
        }

        // Reject requests that ask the upstream to act as another method or on another URL.
        foreach (var name in ProxyAuthorizer.OverrideHeaders)
        {
            if (request.Headers.ContainsKey(name))
            {
                await RefuseAsync(context, 400, $"the {name} header is not allowed through the proxy", claims, tool, null);
                return;
            }
        }

        // Reject a Connection header Tessera could not obey (the headers it names are removed).
        if (request.Headers.Connection.Count > 0 && ProxyHeaders.ConnectionOptions(request.Headers.Connection, out var connectionProblem) is null)
        {
            await RefuseAsync(context, 400, connectionProblem!, claims, tool, null);
            return;
        }

        var path = ProxyPath.Normalize(rawPath, out var pathProblem);
        if (path is null)
        {
            await RefuseAsync(context, 400, $"ambiguous path: {pathProblem}", claims, tool, null);
            return;
        }

        // Reject a query string an upstream could read otherwise; a valid one is forwarded as received.
        if (query.Length > 1 && ProxyQuery.Check(query.AsSpan(1)) is { } queryProblem)
        {
            await RefuseAsync(context, 400, $"invalid query: {queryProblem}", claims, tool, path);
            return;
        }

        var decision = ProxyAuthorizer.Authorize(claims, tool, request.Method, path, config.Server.Issuer);
        if (!decision.IsAllowed)
        {
            await RefuseAsync(context, decision.Status, decision.Reason, claims, tool, path);
            return;
        }

        // Reject a body announced larger than the server reads (Kestrel would fail its first read):
        // a clear 413 before a use is spent, rather than a failed forward after.
        if (request.ContentLength > context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize)
        {
            await RefuseAsync(context, 413, TooLarge(context), claims, tool, path);
            return;
        }

        if (claims.AuthorizationDetails is not null
            && await CheckExactRequestAsync(context, claims.AuthorizationDetails, tool, path, query) is { } inexact)
        {
            await RefuseAsync(context, inexact.Status, inexact.Reason, claims, tool, path);
            return;
        }

        if (tool.Options.Upstream is not { } upstream)
        {
            await RefuseAsync(context, 502, $"tool '{tool.Id}' has no upstream configured", claims, tool, path);
            return;
        }

        string? credential = null;
        if (tool.Options.Credential is { } cred)
        {
            // Fail closed: without its credential the upstream call is never made unauthenticated.
            var lookup = vault.TryFormatCredential(cred.Secret, cred.Format, out credential);
            if (lookup != CredentialLookup.Found)
            {
                await RefuseAsync(context, 503, lookup == CredentialLookup.Missing
                    ? $"the credential of tool '{tool.Id}' is not in the vault"
                    : $"the credential of tool '{tool.Id}' failed its integrity check", claims, tool, path);
                return;
            }
        }

        // Fail closed: while the audit log cannot commit, nothing is forwarded that it could not record.
        if (!_audit.IsHealthy)
        {
            await RefuseAsync(context, 503, "the audit log is not accepting events", claims, tool, path);
            return;
        }

        // Count the use durably before forwarding, in one conditional write shared by every node.
        if (claims.MaxUses is { } maxUses
            && await uses.TryConsumeAsync(claims.Jti, maxUses, DateTimeOffset.FromUnixTimeSeconds(claims.ExpiresAt), context.RequestAborted) is null)
        {
            await RefuseAsync(context, 403, $"the token's {maxUses} use(s) are spent", claims, tool, path);
            return;
        }

        // Record the request durably before it is forwarded: an action whose event cannot be written fails.
        var forwarded = ProxyAudit.Record(AuditTypes.ProxyForwarded, AuditOutcomes.Allowed, claims, tool, path, context) with
        {
            Method = request.Method,
            Scopes = [decision.Scope!],
            Rule = decision.Rule!.Text,
        };
        if (await _audit.ForwardingAsync(forwarded) is { } notRecorded)
        {
            TesseraMetrics.ProxyRequests.WithLabels(tool.Id, "refused").Inc();
            await WriteProblemAsync(context, 503, $"the request could not be recorded in the audit log and was not forwarded ({notRecorded})");
            return;
        }

        var started = time.GetTimestamp();
        var transformer = new CredentialTransformer(path.Encoded + query, tool.Options.Credential?.Header, credential, tool.Options.Credential?.Format);
        var error = await forwarder.SendAsync(
            context,
            upstream.GetLeftPart(UriPartial.Path).TrimEnd('/'),
            _client,
            new ForwarderRequestConfig { ActivityTimeout = tool.Options.Timeout },
            transformer);
        var latency = time.GetElapsedTime(started).TotalMilliseconds;
        if (transformer.Removed is { } removed)
        {
            Log.CredentialEchoed(logger, tool.Id, string.Join(", ", removed));
        }

        TesseraMetrics.ProxyRequests.WithLabels(tool.Id, error == ForwarderError.None ? "forwarded" : "failed").Inc();

        if (error != ForwarderError.None)
        {
            // A body the client could not send (over the size limit, or malformed chunks) is the
            // client's failure, answered as Kestrel would (413 or 400); anything else is the upstream's.
            var clientStatus = error is ForwarderError.RequestBodyClient ? BadRequestStatus(context.Features.Get<IForwarderErrorFeature>()?.Exception) : null;
            var timedOut = error is ForwarderError.RequestTimedOut;
            if (clientStatus is null)
            {
                Log.UpstreamFailed(logger, tool.Id, error);
            }

            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await WriteProblemAsync(context, clientStatus ?? (timedOut ? 504 : 502), clientStatus switch
                {
                    413 => TooLarge(context),
                    not null => "the request body could not be read",
                    _ => timedOut
                        ? $"tool '{tool.Id}' did not answer within {tool.Options.Timeout.TotalSeconds:0.###} s"
                        : $"tool '{tool.Id}' could not be reached",
                });
            }
        }

        // The outcome needs the upstream's status and latency, so it follows the upstream's answer;
        // the request itself is already on record. If its commit fails, the audit log turns
        // unhealthy and the gate above refuses every later request until it recovers.
        _audit.Outcome(forwarded with
        {
            Type = error == ForwarderError.None ? AuditTypes.ProxyCompleted : AuditTypes.ProxyFailed,
            Outcome = error == ForwarderError.None ? AuditOutcomes.Allowed : AuditOutcomes.Error,
            Status = context.Response.StatusCode,
            LatencyMs = latency,
            Reason = ProxyAudit.Reason(error == ForwarderError.None ? null : $"upstream error: {error}", transformer.Removed),
        });
    }

    private async Task RefuseAsync(HttpContext context, int status, string reason, AccessTokenClaims? claims, Tool? tool, ProxyPath? path)
    {
        TesseraMetrics.ProxyRequests.WithLabels(tool?.Id ?? "", "refused").Inc();
        await _audit.DeniedAsync(context, status, reason, claims, tool, path);
        await WriteProblemAsync(context, status, reason);
    }

    private static Task WriteProblemAsync(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        return Results.Problem(statusCode: status, title: TitleFor(status), detail: detail).ExecuteAsync(context);
    }

    private static string TitleFor(int status) => status switch
    {
        400 => "Refused: ambiguous or malformed request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Unknown tool",
        413 => "Request body too large",
        502 => "Bad gateway",
        503 => "Unavailable",
        504 => "Gateway timeout",
        _ => "Refused",
    };

    private static string Describe(TokenStatus status) => status switch
    {
        TokenStatus.Expired => "expired",
        TokenStatus.Revoked => "revoked",
        TokenStatus.InvalidSignature => "not signed by this Tessera",
        TokenStatus.LifetimeExceeded => "valid for longer than this server issues tokens",
        _ => "malformed",
    };

    /// <summary>
    /// A token bound to one exact request (an approval's RFC 9396 <c>tessera_request</c>) lets through
    /// only that method, that normalized path, that query string (or none), that media type, and a
    /// body whose SHA-256 as sent matches.
    /// The body is buffered to hash it and rewound for forwarding. Returns the refusal, or null.
    /// </summary>
    private static async Task<(int Status, string Reason)?> CheckExactRequestAsync(HttpContext context, string details, Tool tool, ProxyPath path, string query)
    {
        // Fail closed: a binding we cannot read allows nothing.
        if (Core.Approvals.TesseraRequestDetail.FromClaim(details) is not { } exact || exact.Tool != tool.Id)
        {
            return (403, "the token's authorization_details do not name a request to this tool");
        }

        // Reject any other method, path, query string or media type: the approver approved exactly one request.
        if (exact.Mismatch(context.Request.Method, path.Path, query, context.Request.ContentType) is { } mismatch)
        {
            return (403, mismatch);
        }

        // Reject a body other than the approved one, compared by its SHA-256 as sent (after any
        // chunked framing is removed: the same bytes, however framed, are the same body).
        // Kept in memory up to the body limit: an approved request's body (customer data, say) is
        // never spooled to a temporary file, as EnableBuffering does past 30 KB by default.
        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize ?? MaxBufferedBody;
        context.Request.EnableBuffering(bufferThreshold: (int)Math.Min(limit, MaxBufferedBody), bufferLimit: limit);
        byte[] digest;
        try
        {
            digest = await System.Security.Cryptography.SHA256.HashDataAsync(context.Request.Body, context.RequestAborted);
        }
        catch (BadHttpRequestException ex)
        {
            // Reject a body Kestrel refuses to read (over the size limit while streamed, malformed chunks): it was a 500.
            return (ex.StatusCode, ex.StatusCode == 413 ? TooLarge(context) : "the request body could not be read");
        }
        catch (IOException)
        {
            // The buffer's own limit (the same size): refused like Kestrel's.
            return (413, TooLarge(context));
        }

        context.Request.Body.Position = 0;
        return string.Equals(Convert.ToHexStringLower(digest), exact.BodySha256, StringComparison.Ordinal)
            ? null
            : (403, "the request body is not the one that was approved");
    }

    /// <summary>An exact-request body is buffered in memory up to this size (Kestrel's limit is 1 MiB).</summary>
    private const int MaxBufferedBody = 1024 * 1024;

    private static string TooLarge(HttpContext context) =>
        context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize is { } max
            ? $"the request body is larger than the {max} bytes the proxy accepts"
            : "the request body is too large";

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

    /// <summary>
    /// RFC 9449 §7: a DPoP-bound token comes with the DPoP scheme and a proof of its key (method, URI,
    /// <c>ath</c>); it is refused as Bearer. A tool with <c>require_dpop</c> takes bound tokens only.
    /// Returns the refusal, or null when the token may be used.
    /// </summary>
    private async Task<(string Error, string Description)?> CheckBindingAsync(HttpContext context, string raw, int queryStart, string token, bool dpopScheme,
        AccessTokenClaims claims, Tool tool)
    {
        if (!dpopScheme)
        {
            // Reject a bound token presented as a bearer token: whoever holds it must also hold the key.
            if (claims.Jkt is not null)
            {
                return ("invalid_token", "the token is DPoP-bound; send it with the DPoP scheme and a proof");
            }

            // Reject unbound tokens for tools that take sender-constrained tokens only.
            return tool.Options.RequireDpop ? ("invalid_token", $"tool '{tool.Id}' accepts DPoP-bound tokens only") : null;
        }

        // Reject the DPoP scheme for a token that is not bound: there is no key to prove.
        if (claims.Jkt is null)
        {
            return ("invalid_token", "the token is not DPoP-bound; send it as Bearer");
        }

        var proofs = context.Request.Headers["DPoP"];
        if (proofs.Count != 1)
        {
            return ("invalid_dpop_proof", proofs.Count == 0 ? "a DPoP proof is required with the DPoP scheme" : "send exactly one DPoP header");
        }

        var proof = await dpop.ValidateAsync(proofs[0]!, context.Request.Method, queryStart >= 0 ? raw[..queryStart] : raw, token, context.RequestAborted);
        if (!proof.IsValid)
        {
            return (proof.UseNonce ? "use_dpop_nonce" : "invalid_dpop_proof", proof.Error!);
        }

        // Reject a proof made with any key but the one the token is bound to.
        return string.Equals(proof.Jkt, claims.Jkt, StringComparison.Ordinal)
            ? null
            : ("invalid_dpop_proof", "the DPoP proof's key is not the key the token is bound to");
    }

    private static string? ReadToken(HttpRequest request, out bool dpopScheme, out string? problem)
    {
        problem = null;
        dpopScheme = false;
        var values = request.Headers.Authorization;
        if (values.Count == 0)
        {
            return null;
        }

        if (values.Count > 1)
        {
            problem = "more than one Authorization header";
            return null;
        }

        var header = values[0] ?? "";
        string scheme;
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            scheme = "Bearer ";
        }
        else if (header.StartsWith("DPoP ", StringComparison.OrdinalIgnoreCase))
        {
            scheme = "DPoP ";
            dpopScheme = true;
        }
        else
        {
            return null;
        }

        var token = header[scheme.Length..].Trim();
        return token.Length == 0 ? null : token;
    }

    /// <summary>
    /// A description may quote part of a hostile proof (its <c>htm</c>): inside an RFC 9110
    /// quoted-string only printable ASCII without <c>"</c> and <c>\</c> is kept, so it can neither end
    /// the string nor break the header line (Kestrel would fail the response with a 500).
    /// </summary>
    private static string QuotedStringSafe(string value) =>
        string.Create(value.Length, value, static (span, text) =>
        {
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                span[i] = c is >= ' ' and <= '~' and not '"' and not '\\' ? c : '?';
            }
        });

    public void Dispose() => _client.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Upstream of tool {Tool} failed: {Error}")]
        public static partial void UpstreamFailed(ILogger logger, string tool, ForwarderError error);

        [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Tool {Tool} answered with headers carrying its own credential ({Headers}); they were removed before the response reached the agent")]
        public static partial void CredentialEchoed(ILogger logger, string tool, string headers);
    }
}
