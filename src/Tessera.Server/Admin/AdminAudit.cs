using Microsoft.AspNetCore.Http;
using Tessera.Core.Audit;
using Tessera.Server.Hosting;

namespace Tessera.Server.Admin;

/// <summary>
/// The admin API's own audit events, each naming its route as <c>METHOD PATH</c>: every read of
/// state (<c>admin.read</c>) and every refused caller (<c>admin.denied</c>). Changes are audited by
/// Core, where they are made.
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

    /// <summary>Records a caller refused by <see cref="AdminAuthorizationFilter"/>, with the reason (never the token).</summary>
    public Task RecordRefusalAsync(HttpContext context, string? reason) =>
        log.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.AdminDenied,
            Outcome = AuditOutcomes.Denied,
            Reason = $"{context.Request.Method} {context.Request.Path}: {reason}",
            RequestId = context.TraceIdentifier,
        }, cancellationToken: context.RequestAborted);
}
