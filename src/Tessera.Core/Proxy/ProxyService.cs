using Microsoft.Extensions.Logging;
using Tessera.Core.Approvals;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Dpop;
using Tessera.Core.Mcp;
using Tessera.Core.Protocol;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;
using Tessera.Core.Telemetry;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;
using Tessera.Core.Vault;

namespace Tessera.Core.Proxy;

/// <summary>
/// Every decision of the proxy (docs/reference/http-api.md, "Proxy") about one request to <c>/proxy/{tool}/{**path}</c>, in
/// this order: the request target, exactly one access token, the token (in memory; revocation on
/// every call), the tool, the DPoP binding, method- and URL-override headers, the Connection header,
/// the path (normalized once), the query, the rules of the token's scopes (<see cref="ProxyAuthorizer"/>),
/// the announced body size, the exact request an approval named, the upstream, the credential from
/// the vault, the audit log's health, <c>max_uses</c>, and the durable <c>proxy.forwarded</c> event.
/// Whatever is refused is refused before a byte reaches the upstream and is on record
/// (<c>proxy.denied</c>) before it is answered; the server only translates the verdict into HTTP.
/// </summary>
public sealed partial class ProxyService(
    AccessTokenValidator validator,
    LiveConfig live,
    SecretVault vault,
    ITokenUseStore uses,
    AuditLog audit,
    DpopProofValidator dpop,
    McpSessionBinding mcpSessions,
    RevocationIndex revocations,
    TimeProvider time,
    ILogger<ProxyService> logger)
{
    public const string Prefix = "/proxy/";
    private const string Realm = "Bearer realm=\"tessera\"";
    private static readonly string DpopChallenge = $"DPoP realm=\"tessera\", algs=\"{string.Join(' ', DpopProofValidator.Algorithms)}\"";

    /// <summary>Both schemes, offered to a request without a token (one header value each).</summary>
    private static readonly string[] TokenRequired = [Realm, DpopChallenge];

    private readonly ProxyAudit _audit = new(audit, logger);

    /// <summary>
    /// Decides whether <paramref name="request"/> is forwarded. A grant is on record as
    /// <c>proxy.forwarded</c> and has spent a use; a refusal is on record. An
    /// <see cref="AuditWriteException"/> (a refusal that could not be recorded) fails the request.
    /// </summary>
    /// <typeparam name="TRequest">The server's view of its request; a struct, so nothing is boxed.</typeparam>
    public async ValueTask<ProxyVerdict> AuthorizeAsync<TRequest>(TRequest request)
        where TRequest : IProxyRequest
    {
        // A node that may have missed another node's revocation forwards nothing (fail closed).
        if (!validator.IsCurrent)
        {
            return await RefuseAsync(request, 503, RefusalCodes.ClusterStale, "this node is not current with the other nodes of its installation", null, null, null);
        }

        var raw = request.RawTarget;

        // Reject absolute-form ("GET http://host/...") and asterisk-form targets: the decision is
        // made on the origin-form path, and a second authority in the target is an ambiguity.
        if (string.IsNullOrEmpty(raw) || !raw.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return await RefuseAsync(request, 400, RefusalCodes.ProxyTargetNotOriginForm, "the request target must be an origin-form path under /proxy/", null, null, null);
        }

        var queryStart = raw.IndexOf('?', Prefix.Length);
        var query = queryStart >= 0 ? raw[queryStart..] : "";
        var pathPart = queryStart >= 0 ? raw[Prefix.Length..queryStart] : raw[Prefix.Length..];
        var slash = pathPart.IndexOf('/', StringComparison.Ordinal);
        var toolId = slash >= 0 ? pathPart[..slash] : pathPart;
        var rawPath = slash >= 0 ? pathPart[slash..] : "";

        // Reject requests without exactly one access token (RFC 6750 §3, RFC 9449 §7.1).
        var token = PresentedToken.Read(request, out var dpopScheme, out var tokenProblem);
        if (token is null)
        {
            return await RefuseAsync(request, tokenProblem is null ? 401 : 400, tokenProblem is null ? RefusalCodes.ProxyTokenMissing : RefusalCodes.ProxySeveralAuthorizationHeaders,
                tokenProblem ?? "an access token is required (Bearer, or DPoP with a proof)", null, null, null,
                WithResourceMetadata(toolId, tokenProblem is null ? TokenRequired : [$"{Realm}, error=\"invalid_request\", error_description=\"{tokenProblem}\""]));
        }

        // Reject tokens that are malformed, forged, expired or revoked (revocation is checked on every call).
        TokenValidation validation;
        using (TesseraTrace.Start(TesseraTrace.TokenValidation))
        {
            validation = await validator.ValidateAsync(token, request.Aborted);
        }

        if (!validation.IsActive)
        {
            return await RefuseAsync(request, 401, CodeOf(validation.Status), $"the token is {Describe(validation.Status)}", validation.Status == TokenStatus.InvalidSignature ? null : validation.Claims, null, null,
                WithResourceMetadata(toolId, [$"{(dpopScheme ? DpopChallenge : Realm)}, error=\"invalid_token\", error_description=\"the token is {Describe(validation.Status)}\""]));
        }

        var claims = validation.Claims!;
        var tool = live.Current.Tools.FindById(toolId);
        if (tool is null)
        {
            return await RefuseAsync(request, 404, RefusalCodes.ProxyToolUnknown, "no tool of that id is configured", claims, null, null);
        }

        // Reject a database tool: nothing is forwarded to it; agents get a lease and connect themselves.
        if (tool.Protocol == ToolProtocol.Postgres)
        {
            return await RefuseAsync(request, 400, RefusalCodes.ProxyToolNotProxied, $"tool '{tool.Id}' is a database: request a lease at /credentials/{tool.Id}", claims, tool, null);
        }

        if (await PresentedToken.CheckBindingAsync(dpop, request, raw, queryStart, token, dpopScheme, claims, tool) is { } binding)
        {
            return await RefuseAsync(request, 401, binding.Code, binding.Description, claims, tool, null,
                [$"{DpopChallenge}, error=\"{binding.Error}\", error_description=\"{QuotedStringSafe(binding.Description)}\""]);
        }

        // Reject requests that ask the upstream to act as another method or on another URL.
        foreach (var name in ProxyAuthorizer.OverrideHeaders)
        {
            if (request.Has(name))
            {
                return await RefuseAsync(request, 400, RefusalCodes.ProxyOverrideHeader, $"the {name} header is not allowed through the proxy", claims, tool, null);
            }
        }

        // Reject a Connection header Tessera could not obey (the headers it names are removed).
        if (request.Header("Connection", out _) > 0 && ProxyHeaders.ConnectionOptions(request.Connection, out var connectionProblem) is null)
        {
            return await RefuseAsync(request, 400, RefusalCodes.ProxyConnectionHeader, connectionProblem!, claims, tool, null);
        }

        if (tool.Protocol == ToolProtocol.Mcp)
        {
            return await AuthorizeMcpAsync(request, claims, tool, rawPath, query);
        }

        var path = ProxyPath.Normalize(rawPath, out var pathProblem);
        if (path is null)
        {
            return await RefuseAsync(request, 400, RefusalCodes.ProxyPathAmbiguous, $"ambiguous path: {pathProblem}", claims, tool, null);
        }

        // Reject a query string an upstream could read otherwise; a valid one is forwarded as received.
        if (query.Length > 1 && ProxyQuery.Check(query.AsSpan(1)) is { } queryProblem)
        {
            return await RefuseAsync(request, 400, RefusalCodes.ProxyQueryInvalid, $"invalid query: {queryProblem}", claims, tool, path);
        }

        ProxyDecision decision;
        using (TesseraTrace.Start(TesseraTrace.RuleMatch))
        {
            decision = ProxyAuthorizer.Authorize(claims, tool, request.Method, path, live.Config.Server.Issuer);
        }

        if (!decision.IsAllowed)
        {
            return await RefuseAsync(request, decision.Status, decision.Code!, decision.Reason, claims, tool, path);
        }

        // Reject a body announced larger than the server reads (it would fail its first read):
        // a clear 413 before a use is spent, rather than a failed forward after.
        if (request.ContentLength > request.MaxBodySize)
        {
            return await RefuseAsync(request, 413, RefusalCodes.ProxyBodyTooLarge, ProxyRefusal.TooLarge(request.MaxBodySize), claims, tool, path);
        }

        if (claims.AuthorizationDetails is not null
            && await CheckExactRequestAsync(request, claims.AuthorizationDetails, tool, path, query) is { } inexact)
        {
            return await RefuseAsync(request, inexact.Status, inexact.Code, inexact.Reason, claims, tool, path);
        }

        if (tool.Options.Upstream is not { } upstream)
        {
            return await RefuseAsync(request, 502, RefusalCodes.ProxyUpstreamMissing, $"tool '{tool.Id}' has no upstream configured", claims, tool, path);
        }

        string? credential = null;
        if (tool.Options.Credential is { } cred)
        {
            // Fail closed: without its credential the upstream call is never made unauthenticated.
            var lookup = vault.TryFormatCredential(cred.Secret, cred.Format, out credential);
            if (lookup != CredentialLookup.Found)
            {
                var missing = lookup == CredentialLookup.Missing;
                return await RefuseAsync(request, 503, missing ? RefusalCodes.ProxyCredentialMissing : RefusalCodes.ProxyCredentialTampered, missing
                    ? $"the credential of tool '{tool.Id}' is not in the vault"
                    : $"the credential of tool '{tool.Id}' failed its integrity check", claims, tool, path);
            }
        }

        // Fail closed: while the audit log cannot commit, nothing is forwarded that it could not record.
        if (!_audit.IsHealthy)
        {
            return await RefuseAsync(request, 503, RefusalCodes.ProxyAuditUnhealthy, "the audit log is not accepting events", claims, tool, path);
        }

        // Count the use durably before forwarding, in one conditional write shared by every node.
        if (claims.MaxUses is { } maxUses
            && await uses.TryConsumeAsync(claims.Jti, maxUses, DateTimeOffset.FromUnixTimeSeconds(claims.ExpiresAt), request.Aborted) is null)
        {
            return await RefuseAsync(request, 403, RefusalCodes.ProxyUsesSpent, $"the token's {maxUses} use(s) are spent", claims, tool, path);
        }

        // Record the request durably before it is forwarded: an action whose event cannot be written fails.
        // (Awaited here rather than in a helper: the allowed request's one wait, without a further async hop.)
        var forwarded = ProxyAudit.Record(AuditTypes.ProxyForwarded, AuditOutcomes.Allowed, claims, tool, path, request.RequestId) with
        {
            Method = request.Method,
            Scopes = [decision.Scope!],
            Rule = decision.Rule!.Text,
        };
        try
        {
            await audit.AppendWithinAsync(forwarded, ProxyAudit.Timeout);
        }
        catch (AuditWriteException ex)
        {
            return NotRecorded(forwarded, ex, tool);
        }

        return ProxyVerdict.Allow(new ProxyGrant
        {
            Tool = tool,
            Upstream = upstream,
            Path = path,
            Query = query,
            Credential = credential,
            Forwarded = forwarded,
        });
    }

    /// <summary>
    /// The answer to an allowed request whose <c>proxy.forwarded</c> event could not be made durable:
    /// 503, on record as <c>proxy.failed</c> (not <c>proxy.denied</c>): the request was allowed, and never sent.
    /// </summary>
    private ProxyVerdict NotRecorded(AuditRecord forwarded, AuditWriteException ex, Tool tool)
    {
        _audit.NotForwarded(forwarded, ex);
        return ProxyVerdict.Refuse(new ProxyRefusal(503, RefusalCodes.ProxyAuditUnavailable, null, ProxyRefusal.TitleFor(503),
            $"the request could not be recorded in the audit log and was not forwarded ({ex.Message})", ProxyAudit.NotForwardedReason(ex.Message), tool.Id));
    }

    /// <summary>
    /// Records what became of a forwarded request (<c>proxy.completed</c>, or <c>proxy.failed</c> with
    /// the upstream error): the status answered and the latency. Not awaited: the upstream has acted,
    /// and the request itself is already on record. If its commit fails, the audit log turns
    /// unhealthy and every later request is refused until it recovers.
    /// </summary>
    /// <param name="grant">The forwarded request.</param>
    /// <param name="status">The status the client was answered with.</param>
    /// <param name="latencyMs">How long the upstream took.</param>
    /// <param name="upstreamError">Why forwarding failed (the forwarder's error), or null when it did not.</param>
    /// <param name="removed">Response headers dropped for carrying the credential (names only), or null.</param>
    /// <param name="failureCode">The <see cref="RefusalCodes"/> code of a failure (<see cref="FailureCode"/>), or null when it did not fail.</param>
    public void RecordOutcome(in ProxyGrant grant, int status, double latencyMs, string? upstreamError, List<string>? removed, string? failureCode = null) =>
        _audit.Outcome(grant.Forwarded with
        {
            Type = upstreamError is null ? AuditTypes.ProxyCompleted : AuditTypes.ProxyFailed,
            Outcome = upstreamError is null ? AuditOutcomes.Allowed : AuditOutcomes.Error,
            Status = status,
            LatencyMs = latencyMs,
            Reason = ProxyAudit.Reason(upstreamError is null ? null : $"upstream error: {upstreamError}", removed),
            ReasonCode = upstreamError is null ? null : failureCode ?? RefusalCodes.ProxyUpstreamFailed,
        });

    /// <summary>
    /// The code of a forward that failed: a body the client could not send (<paramref name="clientStatus"/>
    /// 413, or another 4xx), the upstream's timeout, or any other failure of the upstream.
    /// </summary>
    public static string FailureCode(int? clientStatus, bool timedOut) => clientStatus switch
    {
        413 => RefusalCodes.ProxyBodyTooLarge,
        not null => RefusalCodes.ProxyBodyUnreadable,
        _ => timedOut ? RefusalCodes.ProxyUpstreamTimeout : RefusalCodes.ProxyUpstreamFailed,
    };

    /// <summary>Records the refusal durably (<c>proxy.denied</c>, with its code) and returns it; the detail is the audited reason.</summary>
    private async ValueTask<ProxyVerdict> RefuseAsync<TRequest>(TRequest request, int status, string code, string reason, AccessTokenClaims? claims, Tool? tool, ProxyPath? path,
        string[]? challenges = null)
        where TRequest : IProxyRequest
    {
        await _audit.DeniedAsync(request.Method, request.RequestId, status, code, reason, claims, tool, path);
        return ProxyVerdict.Refuse(new ProxyRefusal(status, code, challenges, ProxyRefusal.TitleFor(status), reason, reason, tool?.Id));
    }

    private static string CodeOf(TokenStatus status) => status switch
    {
        TokenStatus.Expired => RefusalCodes.ProxyTokenExpired,
        TokenStatus.Revoked => RefusalCodes.ProxyTokenRevoked,
        TokenStatus.InvalidSignature => RefusalCodes.ProxyTokenNotOurs,
        TokenStatus.LifetimeExceeded => RefusalCodes.ProxyTokenLifetimeExceeded,
        _ => RefusalCodes.ProxyTokenMalformed,
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
    /// body whose SHA-256 as sent matches. Returns the refusal, or null.
    /// </summary>
    private static async ValueTask<(int Status, string Code, string Reason)?> CheckExactRequestAsync<TRequest>(TRequest request, string details, Tool tool, ProxyPath path, string query)
        where TRequest : IProxyRequest
    {
        // Fail closed: a binding we cannot read allows nothing.
        if (ExactRequestDetail.FromClaim(details) is not { } exact || exact.Tool != tool.Id)
        {
            return (403, RefusalCodes.ProxyExactRequestUnbound, "the token's authorization_details do not name a request to this tool");
        }

        // Reject any other method, path, query string or media type: the approver approved exactly one request.
        if (exact.Mismatch(request.Method, path.Path, query, request.ContentType) is { } mismatch)
        {
            return (403, RefusalCodes.ProxyExactRequestMismatch, mismatch);
        }

        // Reject a body other than the approved one, compared by its SHA-256 as sent (after any
        // chunked framing is removed: the same bytes, however framed, are the same body).
        var body = await request.HashBodyAsync();
        if (body.Sha256 is not { } digest)
        {
            // Reject a body the server refuses to read (over the size limit while streamed, malformed chunks): it was a 500.
            return body.RefusedStatus == 413
                ? (413, RefusalCodes.ProxyBodyTooLarge, ProxyRefusal.TooLarge(request.MaxBodySize))
                : (body.RefusedStatus, RefusalCodes.ProxyBodyUnreadable, "the request body could not be read");
        }

        return string.Equals(Convert.ToHexStringLower(digest), exact.BodySha256, StringComparison.Ordinal)
            ? null
            : (403, RefusalCodes.ProxyExactBodyMismatch, "the request body is not the one that was approved");
    }

    /// <summary>
    /// A description may quote part of a hostile proof (its <c>htm</c>): inside an RFC 9110
    /// quoted-string only printable ASCII without <c>"</c> and <c>\</c> is kept, so it can neither end
    /// the string nor break the header line (the server would fail the response with a 500).
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
}
