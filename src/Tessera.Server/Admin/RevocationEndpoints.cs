using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Protocol;
using Tessera.Core.Approvals;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;
using Tessera.Server.Hosting;

namespace Tessera.Server.Admin;

/// <summary>Revocations under <c>/admin/v1/revocations</c>: of a token, a mission, an agent, a principal or an approval.</summary>
internal static class RevocationEndpoints
{
    public static void Map(RouteGroupBuilder admin) => admin.MapPost("/revocations", RevokeAsync).WithMetadata(AdminBody.Default);

    private static async Task<Results<JsonHttpResult<RevocationView>, ProblemHttpResult>> RevokeAsync(HttpContext context, RevocationService revocations,
        AccessTokenValidator validator, LiveConfig live, IMissionStore missions, ApprovalService approvals)
    {
        var who = AdminCaller.Of(context).Name;
        var (body, problem) = await AdminBody.ReadObjectAsync<RevokeRequest>(context,
            "{\"kind\": \"token|jti|mission|agent|principal|approval\", \"id\": \"...\"} or {\"kind\": \"token\", \"token\": \"<JWT>\"}");
        if (problem is not null)
        {
            return problem;
        }

        if (body is null || string.IsNullOrEmpty(body.Kind))
        {
            return AdminProblem.BadRequest(context, RefusalCodes.AdminRevocationInvalid, "'kind' is required.");
        }

        if (body.Kind == "approval")
        {
            return await RevokeApprovalAsync(context, body, who, approvals);
        }

        RevocationEntry entry;
        if (body.Kind == "token" && body.Token is not null)
        {
            var validation = await validator.ValidateAsync(body.Token, context.RequestAborted);
            if (validation.Claims is null)
            {
                return AdminProblem.BadRequest(context, RefusalCodes.AdminRevocationTokenInvalid, $"That is not a token issued by this server ({validation.Reason}).");
            }

            entry = await revocations.RevokeTokenAsync(validation.Claims, who, context.TraceIdentifier, context.RequestAborted);
        }
        else
        {
            RevocationKind? kind = body.Kind switch
            {
                "token" or "jti" => RevocationKind.Token,
                "mission" => RevocationKind.Mission,
                "agent" => RevocationKind.Agent,
                "principal" => RevocationKind.Principal,
                _ => null,
            };
            if (kind is null || string.IsNullOrEmpty(body.Id) || body.Id.Length > 256)
            {
                return AdminProblem.BadRequest(context, RefusalCodes.AdminRevocationInvalid, "'kind' must be token, jti, mission, agent, principal or approval, with an 'id' of at most 256 characters.");
            }

            // A typo must not look like a revocation: name only agents and missions that exist.
            // (Token ids and principals cannot be checked: Tessera keeps no list of them.)
            if (kind == RevocationKind.Agent && live.Current.Agents.Find(body.Id) is null)
            {
                return AdminProblem.NotFound(context, RefusalCodes.AdminAgentUnknown, $"No agent '{DisplayText.Clip(body.Id, 64)}' is configured.");
            }

            if (kind == RevocationKind.Mission && await missions.FindAsync(body.Id, context.RequestAborted) is null)
            {
                return AdminProblem.NotFound(context, RefusalCodes.AdminMissionUnknown, $"No mission '{DisplayText.Clip(body.Id, 64)}' is known.");
            }

            entry = await revocations.RevokeAsync(kind.Value, body.Id, who, context.TraceIdentifier, context.RequestAborted);
        }

        TesseraMetrics.Revocations.WithLabels(entry.Kind.ToString().ToLowerInvariant()).Inc();
        return TypedResults.Json(new RevocationView(entry.Kind.ToString().ToLowerInvariant(), entry.Id, AuditEvent.FormatTime(entry.RevokedAt), AuditEvent.FormatTime(entry.ExpiresAt)), AdminJson.Options);
    }

    /// <summary>Ends an approval (docs/approvals.md, "Revoking"): it yields no token any more, and the token it yielded is revoked.</summary>
    private static async Task<Results<JsonHttpResult<RevocationView>, ProblemHttpResult>> RevokeApprovalAsync(HttpContext context, RevokeRequest body, string who,
        ApprovalService approvals)
    {
        if (string.IsNullOrEmpty(body.Id) || body.Id.Length > 256)
        {
            return AdminProblem.BadRequest(context, RefusalCodes.AdminRevocationInvalid, "Revoking an approval needs its 'id' (the auth_req_id), of at most 256 characters.");
        }

        var result = await approvals.RevokeAsync(body.Id, who, context.TraceIdentifier, context.RequestAborted);
        if (result.Outcome != ApprovalDecisionOutcome.Decided)
        {
            TesseraMetrics.AdminRequests.WithLabels("denied").Inc();
            return result.Outcome == ApprovalDecisionOutcome.NotFound
                ? AdminProblem.NotFound(context, result.Code!, "No such approval request.", result.Audited)
                : AdminProblem.Conflict(context, result.Code!, result.Description, result.Audited);
        }

        var approval = result.Approval!;
        TesseraMetrics.Revocations.WithLabels("approval").Inc();
        return TypedResults.Json(new RevocationView("approval", approval.Id, AuditEvent.FormatTime(approval.RevokedAt!.Value), AuditEvent.FormatTime(approval.ExpiresAt)), AdminJson.Options);
    }
}
