using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Approvals;
using Tessera.Core.Audit;
using Tessera.Core.Protocol;
using Tessera.Server.Hosting;

namespace Tessera.Server.Admin;

/// <summary>
/// Approvals under <c>/admin/v1/approvals</c>: admins and approvers list them; only members of the
/// approval's group (never the principal it acts for) decide, each approval once.
/// </summary>
internal static class ApprovalEndpoints
{
    private const int MaxBodyBytes = 4096;
    private const int MaxCommentLength = 500;

    public static void MapApprovals(this RouteGroupBuilder admin)
    {
        admin.MapGet("/approvals", ListAsync);
        var body = new AdminBody(MaxBodyBytes);
        admin.MapPost("/approvals/{id}/approve", (HttpContext c, string id, AdminGate g, ApprovalService a) => DecideAsync(c, id, approve: true, g, a)).WithMetadata(body);
        admin.MapPost("/approvals/{id}/deny", (HttpContext c, string id, AdminGate g, ApprovalService a) => DecideAsync(c, id, approve: false, g, a)).WithMetadata(body);
    }

    private static async Task<IResult> ListAsync(HttpContext context, AdminGate gate, ApprovalService approvals, AuditLog audit)
    {
        var (who, isAdmin, refusal) = await gate.AuthorizeApproverAsync(context);
        if (refusal is not null)
        {
            return refusal;
        }

        var status = context.Request.Query["status"];
        if (status.Count > 1 || (status.Count == 1 && !ApprovalStatus.IsKnown(status[0]!)))
        {
            return Results.Problem(statusCode: 400, title: "Bad request", detail: "'status' must be one of pending, approved, denied, expired, redeemed, revoked.");
        }

        TesseraMetrics.AdminRequests.WithLabels("allowed").Inc();
        await audit.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.AdminRead,
            Outcome = AuditOutcomes.Allowed,
            Principal = who!.Name,
            Reason = $"{context.Request.Method} {context.Request.Path}",
            RequestId = context.TraceIdentifier,
        }, cancellationToken: context.RequestAborted);
        return Results.Json(new ApprovalList([.. approvals.List(status.Count == 1 ? status[0] : null, who, isAdmin).Select(ApprovalView.From)]), AdminJson.Options);
    }

    private static async Task<IResult> DecideAsync(HttpContext context, string id, bool approve, AdminGate gate, ApprovalService approvals)
    {
        var (who, _, refusal) = await gate.AuthorizeApproverAsync(context);
        if (refusal is not null)
        {
            return refusal;
        }

        var (comment, problem) = await ReadCommentAsync(context);
        if (problem is not null)
        {
            return problem;
        }

        var decision = await approvals.DecideAsync(id, approve, who!, comment, context.TraceIdentifier, context.RequestAborted);
        TesseraMetrics.AdminRequests.WithLabels(decision.Outcome == ApprovalDecisionOutcome.Decided ? "allowed" : "denied").Inc();
        return decision.Outcome switch
        {
            ApprovalDecisionOutcome.Decided => Results.Json(ApprovalView.From(decision.Approval!), AdminJson.Options),
            ApprovalDecisionOutcome.NotFound => Results.Problem(statusCode: 404, title: "Not found", detail: decision.Description),
            ApprovalDecisionOutcome.NotAMember or ApprovalDecisionOutcome.SelfApproval or ApprovalDecisionOutcome.ApproverInChain => Results.Problem(statusCode: 403, title: "Forbidden", detail: decision.Description),
            _ => Results.Problem(statusCode: 409, title: "Conflict", detail: decision.Description),
        };
    }

    /// <summary>The optional body <c>{"comment": "..."}</c>: nothing else, and only text.</summary>
    private static async Task<(string? Comment, IResult? Problem)> ReadCommentAsync(HttpContext context)
    {
        var buffer = new byte[MaxBodyBytes + 1];
        var (length, tooLarge) = await AdminBody.ReadAsync(context, buffer, MaxBodyBytes);
        if (tooLarge is not null)
        {
            return (null, tooLarge);
        }

        if (length == 0)
        {
            return (null, null);
        }

        try
        {
            using var doc = JsonDocument.Parse(buffer.AsMemory(0, length));
            var root = doc.RootElement;

            // Reject other members and a repeated comment: which of two comments was meant would be a guess.
            // NameEquals compares the raw bytes, so a name that is not valid text cannot throw here.
            if (root.ValueKind != JsonValueKind.Object || root.EnumerateObject().Any(p => !p.NameEquals("comment")) || root.EnumerateObject().Count() > 1)
            {
                return (null, BadRequest("The body must be a JSON object with at most one 'comment'."));
            }

            if (!root.TryGetProperty("comment", out var c) || c.ValueKind == JsonValueKind.Null)
            {
                return (null, null);
            }

            var comment = c.ValueKind == JsonValueKind.String ? Text(c) : null;
            return comment is null || !DisplayText.IsDisplayable(comment, MaxCommentLength)
                ? (null, BadRequest($"'comment' must be at most {MaxCommentLength} characters of printable text (no control or formatting characters)."))
                : (comment, null);
        }
        catch (JsonException)
        {
            return (null, BadRequest("The body must be JSON."));
        }
    }

    private static IResult BadRequest(string detail) => Results.Problem(statusCode: 400, title: "Bad request", detail: detail);

    /// <summary>
    /// The string's value, or null when it is not text: JSON can carry invalid UTF-8 or escape a lone
    /// surrogate, and reading either throws (it was a 500).
    /// </summary>
    private static string? Text(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
