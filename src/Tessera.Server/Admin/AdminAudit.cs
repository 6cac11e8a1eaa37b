using Microsoft.AspNetCore.Http;
using Tessera.Core.Audit;
using Tessera.Server.Hosting;

namespace Tessera.Server.Admin;

/// <summary>
/// The admin API's own audit events, each naming its route as <c>METHOD PATH</c>: every read of
/// state (<c>admin.read</c>) and every refusal Core did not record itself (<c>admin.denied</c>, with
/// its <c>reason_code</c>). Changes are audited by Core, where they are made.
/// </summary>
internal sealed class AdminAudit(AuditLog log)
{
    /// <summary>Records that the admitted caller read state; every GET route calls it before it answers.</summary>
    public Task RecordReadAsync(HttpContext context)
    {
        TesseraMetrics.AdminRequests.WithLabels("allowed").Inc();
        return log.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.AdminRead,
            Outcome = AuditOutcomes.Allowed,
            Principal = AdminCaller.Of(context).Name,
            Reason = $"{context.Request.Method} {context.Request.Path}",
            RequestId = context.TraceIdentifier,
        }, cancellationToken: context.RequestAborted);
    }

    /// <summary>
    /// Records a refusal with its code and reason (never the token): of a caller not admitted
    /// (<paramref name="principal"/> null), or of an admitted caller's request.
    /// </summary>
    public Task RecordRefusalAsync(HttpContext context, string code, string? reason, string? principal = null) =>
        log.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.AdminDenied,
            Outcome = AuditOutcomes.Denied,
            Principal = principal,
            Reason = $"{context.Request.Method} {context.Request.Path}: {reason}",
            ReasonCode = code,
            RequestId = context.TraceIdentifier,
        }, cancellationToken: context.RequestAborted);
}
