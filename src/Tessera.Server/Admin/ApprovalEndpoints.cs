using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Approvals;
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

    public static void Map(RouteGroupBuilder admin)
    {
        admin.MapGet("/approvals", ListAsync).WithMetadata(AdminAccess.AdminsAndApprovers);
        var body = new AdminBody(MaxBodyBytes);
        admin.MapPost("/approvals/{id}/approve", (HttpContext c, string id, ApprovalService a) => DecideAsync(c, id, approve: true, a))
            .WithMetadata(body, AdminAccess.AdminsAndApprovers);
        admin.MapPost("/approvals/{id}/deny", (HttpContext c, string id, ApprovalService a) => DecideAsync(c, id, approve: false, a))
            .WithMetadata(body, AdminAccess.AdminsAndApprovers);
    }

    private static async Task<Results<JsonHttpResult<ApprovalList>, ProblemHttpResult>> ListAsync(HttpContext context, ApprovalService approvals, AdminAudit audit)
    {
        var status = context.Request.Query["status"];
        if (status.Count > 1 || (status.Count == 1 && !ApprovalStatus.IsKnown(status[0]!)))
        {
            return AdminProblem.BadRequest(context, RefusalCodes.AdminQueryInvalid, "'status' must be one of pending, approved, denied, expired, redeemed, revoked.");
        }

        await audit.RecordReadAsync(context);
        var caller = AdminCaller.Of(context);
        return TypedResults.Json(new ApprovalList([.. approvals.List(status.Count == 1 ? status[0] : null, caller.AsApprover, caller.IsAdmin).Select(ApprovalView.From)]),
            AdminJson.Options);
    }

    private static async Task<Results<JsonHttpResult<ApprovalView>, ProblemHttpResult>> DecideAsync(HttpContext context, string id, bool approve, ApprovalService approvals)
    {
        var (comment, problem) = await ReadCommentAsync(context);
        if (problem is not null)
        {
            return problem;
        }

        var decision = await approvals.DecideAsync(id, approve, AdminCaller.Of(context).AsApprover, comment, context.TraceIdentifier, context.RequestAborted);
        TesseraMetrics.AdminRequests.WithLabels(decision.Outcome == ApprovalDecisionOutcome.Decided ? "allowed" : "denied").Inc();
        return decision.Outcome switch
        {
            ApprovalDecisionOutcome.Decided => TypedResults.Json(ApprovalView.From(decision.Approval!), AdminJson.Options),
            ApprovalDecisionOutcome.NotFound => AdminProblem.NotFound(context, decision.Code!, decision.Description, decision.Audited),
            ApprovalDecisionOutcome.NotAMember or ApprovalDecisionOutcome.SelfApproval or ApprovalDecisionOutcome.ApproverInChain
                => AdminProblem.Forbidden(context, decision.Code!, decision.Description, decision.Audited),
            _ => AdminProblem.Conflict(context, decision.Code!, decision.Description, decision.Audited),
        };
    }

    /// <summary>The optional body <c>{"comment": "..."}</c>: nothing else, and only text.</summary>
    private static async Task<(string? Comment, ProblemHttpResult? Problem)> ReadCommentAsync(HttpContext context)
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
                return (null, AdminProblem.BadRequest(context, RefusalCodes.AdminBodyInvalid, "The body must be a JSON object with at most one 'comment'."));
            }

            if (!root.TryGetProperty("comment", out var c) || c.ValueKind == JsonValueKind.Null)
            {
                return (null, null);
            }

            var comment = c.ValueKind == JsonValueKind.String ? Text(c) : null;
            return comment is null || !DisplayText.IsDisplayable(comment, MaxCommentLength)
                ? (null, AdminProblem.BadRequest(context, RefusalCodes.ApprovalCommentInvalid, $"'comment' must be at most {MaxCommentLength} characters of printable text (no control or formatting characters)."))
                : (comment, null);
        }
        catch (JsonException)
        {
            return (null, AdminProblem.BadRequest(context, RefusalCodes.AdminBodyInvalid, "The body must be JSON."));
        }
    }

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
