using Microsoft.Extensions.Logging;
using Tessera.Core.Audit;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;

namespace Tessera.Core.Proxy;

/// <summary>
/// The proxy's audit events. A refusal (<c>proxy.denied</c>) is durable before it is answered. An
/// allowed request (<c>proxy.forwarded</c>) is durable before it is forwarded, or it is not forwarded
/// at all; its outcome follows with the same <c>request_id</c> and <c>jti</c>: <c>proxy.completed</c>
/// (the upstream's status and the latency) or <c>proxy.failed</c> (upstream error, or 503 when the
/// request could not be recorded and was never sent). The outcome joins the next group commit without
/// being awaited: the upstream has acted by then, and waiting would undo nothing.
/// </summary>
internal sealed partial class ProxyAudit(AuditLog audit, ILogger logger)
{
    /// <summary>How long a request waits for its event to be durable before it is refused (503) instead of forwarded.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>False after a failed commit, until one succeeds: nothing is forwarded meanwhile.</summary>
    public bool IsHealthy => audit.IsHealthy;

    /// <summary>The fields every proxy event carries; never a header value or a body.</summary>
    public static AuditRecord Record(string type, string outcome, AccessTokenClaims? claims, Tool? tool, ProxyPath? path, string requestId) => new()
    {
        Type = type,
        Outcome = outcome,
        Principal = claims?.Principal,
        Agent = claims?.ClientId,
        ActorChain = claims is { ActorChain.Count: > 0 } ? claims.ActorChain : null,
        Mission = claims?.Mission,
        Purpose = claims?.Purpose,
        Tool = tool?.Id,
        Jti = claims?.Jti,
        Path = path?.Path,
        RequestId = requestId,
    };

    /// <summary>Records a refusal durably (an <see cref="AuditWriteException"/> fails the request with 503).</summary>
    public Task DeniedAsync(string method, string requestId, int status, string code, string reason, AccessTokenClaims? claims, Tool? tool, ProxyPath? path) =>
        audit.AppendAsync(Record(AuditTypes.ProxyDenied, AuditOutcomes.Denied, claims, tool, path, requestId) with
        {
            Method = method.Length <= 16 ? method : method[..16],
            Status = status,
            Reason = reason,
            ReasonCode = code,
        }, cancellationToken: CancellationToken.None);

    /// <summary>
    /// After an allowed request's <c>proxy.forwarded</c> event failed to become durable (the request is
    /// not forwarded): logs it and records (not awaited) that the request was not forwarded, in case
    /// its event still lands.
    /// </summary>
    public void NotForwarded(AuditRecord forwarded, AuditWriteException failure)
    {
        Log.NotRecorded(logger, forwarded.Tool ?? "", failure);
        Outcome(forwarded with
        {
            Type = AuditTypes.ProxyFailed,
            Outcome = AuditOutcomes.Error,
            Status = 503,
            Reason = NotForwardedReason(failure.Message),
            ReasonCode = Protocol.RefusalCodes.ProxyAuditUnavailable,
        });
    }

    /// <summary>The reason of the outcome of a request that could not be recorded and was never sent.</summary>
    public static string NotForwardedReason(string why) => "not forwarded: " + why;

    /// <summary>Records what became of a forwarded request; joins the next group commit, not awaited (a failure is logged and turns the log unhealthy).</summary>
    public void Outcome(AuditRecord outcome)
    {
        var recorded = audit.AppendAsync(outcome, cancellationToken: CancellationToken.None);
        if (!recorded.IsCompleted)
        {
            _ = ObserveAsync(recorded, outcome.Tool ?? "");
        }
        else if (recorded.IsFaulted)
        {
            Log.OutcomeNotRecorded(logger, outcome.Tool ?? "", recorded.Exception!.InnerException!);
        }
    }

    /// <summary>The outcome's reason: the upstream error, and which response headers were dropped for carrying the credential (names only).</summary>
    public static string? Reason(string? error, List<string>? removed)
    {
        if (removed is null)
        {
            return error;
        }

        var text = (error is null ? "" : error + "; ") + "response headers carrying the credential removed: " + string.Join(", ", removed);
        return text.Length <= 256 ? text : text[..256];
    }

    private async Task ObserveAsync(Task<AuditEvent> recorded, string toolId)
    {
        try
        {
            await recorded;
        }
        catch (AuditWriteException ex)
        {
            Log.OutcomeNotRecorded(logger, toolId, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "The outcome of a request to tool {Tool} could not be written to the audit log; the proxy refuses requests until the audit log recovers")]
        public static partial void OutcomeNotRecorded(ILogger logger, string tool, Exception exception);

        [LoggerMessage(EventId = 303, Level = LogLevel.Error, Message = "A request to tool {Tool} could not be recorded in the audit log and was not forwarded (503)")]
        public static partial void NotRecorded(ILogger logger, string tool, Exception exception);
    }
}
