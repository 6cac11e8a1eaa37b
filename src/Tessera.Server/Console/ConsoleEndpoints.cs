using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Core.Approvals;
using Tessera.Core.Audit;
using Tessera.Core.Identity;
using Tessera.Core.Limits;
using Tessera.Core.Posture;
using Tessera.Core.Protocol;
using Tessera.Server.Admin;
using Tessera.Server.Hosting;

namespace Tessera.Server.Console;

/// <summary>
/// The web console under <c>/console</c> (docs/console.md): server-rendered pages over the same Core
/// services and audit as the admin API. Core decides; these handlers only translate forms to calls
/// and results to pages.
/// </summary>
internal static class ConsoleEndpoints
{
    private const int MaxCommentLength = 500;
    internal const string SignInPath = "/console/sign-in";

    public static void Map(WebApplication app)
    {
        var console = app.MapGroup("/console").AddEndpointFilter<ConsoleHeaders>();
        console.MapGet("/", Home);
        console.MapGet("/console.css", Stylesheet);
        // A handler's return type names no page: the generated endpoint code cannot see Razor's generated types.
        console.MapGet("/sign-in", IResult (HttpContext c) => SignInForm(c, error: null, StatusCodes.Status200OK));
        console.MapPost("/sign-in", SignInAsync);
        console.MapPost("/sign-out", SignOutAsync);
        console.MapGet("/agents", AgentsAsync);
        console.MapGet("/approvals", ApprovalsAsync);
        console.MapPost("/approvals/{id}", DecideAsync);
        ConsoleAuditEndpoints.Map(console);
        ConsoleMissionEndpoints.Map(console);
    }

    private static RedirectHttpResult Home(HttpContext context, ConsoleSession session)
    {
        var user = session.Current(context);
        return TypedResults.Redirect(user is null ? SignInPath : user.IsAdmin ? "/console/agents" : "/console/approvals");
    }

    private static FileStreamHttpResult Stylesheet()
    {
        var stream = typeof(ConsoleEndpoints).Assembly.GetManifestResourceStream("Tessera.Server.Console.console.css")!;
        return TypedResults.Stream(stream, "text/css; charset=utf-8");
    }

    private static RazorComponentResult<SignInPage> SignInForm(HttpContext context, string? error, int status) =>
        Page<SignInPage>(context, null, status, new() { [nameof(SignInPage.Error)] = error });

    /// <summary>
    /// Admits what the admin API admits (the bootstrap token, or an identity provider JWT of an admin
    /// or approver) and keeps only who it is in the session cookie, never the token.
    /// </summary>
    private static async Task<IResult> SignInAsync(HttpContext context, ConsoleSession session, AdminAuthenticator admins, ApprovalService approvals, AuditLog log, RateLimits limits, IAntiforgery antiforgery)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return await RefuseFormAsync(context, principal: null);
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var token = form["token"].ToString().Trim();
        var (caller, isAdmin, reason, code) = await admins.IdentifyAsync(token, context.RequestAborted);
        if (caller is null || !(isAdmin || approvals.IsApprover(caller)))
        {
            await log.AppendAsync(new AuditRecord
            {
                Type = AuditTypes.ConsoleSignInDenied,
                Outcome = AuditOutcomes.Denied,
                Principal = caller?.Name,
                Reason = reason ?? $"{caller!.Name} is neither an admin nor an approver",
                ReasonCode = code ?? RefusalCodes.AdminNotApprover,
                RequestId = context.TraceIdentifier,
            }, cancellationToken: context.RequestAborted);
            limits.Refused(SourceAddress.From(context.Connection.RemoteIpAddress));
            return caller is null
                ? SignInForm(context, "This token was not accepted. Paste the bootstrap token (data_dir/admin.token) or an identity provider token of an admin or approver.", StatusCodes.Status401Unauthorized)
                : SignInForm(context, "This identity is neither an admin nor a member of an approver group.", StatusCodes.Status403Forbidden);
        }

        var user = new ConsoleUser(caller.Name, isAdmin, caller.Idp, caller.Sub);
        session.SignIn(context, user);
        await log.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.ConsoleSignedIn,
            Outcome = AuditOutcomes.Allowed,
            Principal = user.Name,
            Reason = $"signed in as {user.Role}",
            RequestId = context.TraceIdentifier,
        }, cancellationToken: context.RequestAborted);
        return SeeOther(context, user.IsAdmin ? "/console/agents" : "/console/approvals");
    }

    private static async Task<IResult> SignOutAsync(HttpContext context, ConsoleSession session, IAntiforgery antiforgery)
    {
        var user = session.Current(context);
        if (user is null)
        {
            return SeeOther(context, SignInPath);
        }

        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return await RefuseFormAsync(context, user.Name);
        }

        session.SignOut(context);
        return SeeOther(context, SignInPath);
    }

    private static async Task<IResult> AgentsAsync(HttpContext context, ConsoleSession session, PostureService posture, AdminAudit audit)
    {
        var user = session.Current(context);
        if (user is null)
        {
            return TypedResults.Redirect(SignInPath);
        }

        if (!user.IsAdmin)
        {
            await audit.RecordRefusalAsync(context, RefusalCodes.AdminNotAdmin, $"{user.Name} is not an admin", user.Name);
            return Page<MessagePage>(context, user, StatusCodes.Status403Forbidden, new()
            {
                [nameof(MessagePage.Title)] = "Admins only",
                [nameof(MessagePage.Message)] = "The agents are shown to admins only. As an approver you can decide approvals.",
            });
        }

        Admit(context, user);
        await audit.RecordReadAsync(context);
        var report = await posture.ReportAsync(context.RequestAborted);
        return Page<AgentsPage>(context, user, StatusCodes.Status200OK, new()
        {
            [nameof(AgentsPage.Agents)] = report.Agents,
        });
    }

    private static async Task<IResult> ApprovalsAsync(HttpContext context, ConsoleSession session, ApprovalService approvals, AdminAudit audit)
    {
        var user = session.Current(context);
        if (user is null)
        {
            return TypedResults.Redirect(SignInPath);
        }

        Admit(context, user);
        await audit.RecordReadAsync(context);
        return ApprovalsPage(context, user, approvals, error: null, StatusCodes.Status200OK);
    }

    /// <summary>One approval's form: "Approve" or "Deny" with an optional comment, decided by Core as the admin API has it decided.</summary>
    private static async Task<IResult> DecideAsync(HttpContext context, string id, ConsoleSession session, ApprovalService approvals, AdminAudit audit, IAntiforgery antiforgery)
    {
        var user = session.Current(context);
        if (user is null)
        {
            return SeeOther(context, SignInPath);
        }

        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return await RefuseFormAsync(context, user.Name);
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var decision = form["decision"].ToString();
        if (decision is not ("approve" or "deny"))
        {
            await audit.RecordRefusalAsync(context, RefusalCodes.AdminBodyInvalid, "the form's decision is neither approve nor deny", user.Name);
            return ApprovalsPage(context, user, approvals, "Choose Approve or Deny.", StatusCodes.Status400BadRequest);
        }

        var comment = form["comment"].ToString();
        if (comment.Length > 0 && !DisplayText.IsDisplayable(comment, MaxCommentLength))
        {
            await audit.RecordRefusalAsync(context, RefusalCodes.ApprovalCommentInvalid, "the comment is not displayable text", user.Name);
            return ApprovalsPage(context, user, approvals, $"The comment must be at most {MaxCommentLength} characters of printable text.", StatusCodes.Status400BadRequest);
        }

        var result = await approvals.DecideAsync(id, decision == "approve", user.AsApprover, comment.Length == 0 ? null : comment, context.TraceIdentifier, context.RequestAborted);
        TesseraMetrics.AdminRequests.WithLabels(result.Outcome == ApprovalDecisionOutcome.Decided ? "allowed" : "denied").Inc();
        if (result.Outcome == ApprovalDecisionOutcome.Decided)
        {
            return SeeOther(context, "/console/approvals");
        }

        if (!result.Audited)
        {
            await audit.RecordRefusalAsync(context, result.Code!, result.Description, user.Name);
        }

        var status = result.Outcome switch
        {
            ApprovalDecisionOutcome.NotFound => StatusCodes.Status404NotFound,
            ApprovalDecisionOutcome.NotAMember or ApprovalDecisionOutcome.SelfApproval or ApprovalDecisionOutcome.ApproverInChain => StatusCodes.Status403Forbidden,
            _ => StatusCodes.Status409Conflict,
        };
        return ApprovalsPage(context, user, approvals, result.Description, status);
    }

    private static RazorComponentResult<ApprovalsPage> ApprovalsPage(HttpContext context, ConsoleUser user, ApprovalService approvals, string? error, int status) =>
        Page<ApprovalsPage>(context, user, status, new()
        {
            [nameof(Console.ApprovalsPage.Approvals)] = approvals.List(ApprovalStatus.Pending, user.AsApprover, user.IsAdmin),
            [nameof(Console.ApprovalsPage.Error)] = error,
        });

    /// <summary>A form without its antiforgery token (a cross-site post, a stale page): 400, recorded, nothing done.</summary>
    internal static async Task<IResult> RefuseFormAsync(HttpContext context, string? principal)
    {
        await context.RequestServices.GetRequiredService<AdminAudit>().RecordRefusalAsync(context, RefusalCodes.ConsoleFormInvalid, "the form's antiforgery token is missing or invalid", principal);
        return Page<MessagePage>(context, null, StatusCodes.Status400BadRequest, new()
        {
            [nameof(MessagePage.Title)] = "Form expired",
            [nameof(MessagePage.Message)] = "This form could not be accepted. Reload the page and try again.",
        });
    }

    /// <summary>The signed-in user as the admin API's caller, so its audit helpers name them.</summary>
    internal static void Admit(HttpContext context, ConsoleUser user) =>
        context.Features.Set(new AdminCaller(user.Name, user.IsAdmin, user.AsApprover));

    internal static StatusCodeHttpResult SeeOther(HttpContext context, string location)
    {
        context.Response.Headers.Location = location;
        return TypedResults.StatusCode(StatusCodes.Status303SeeOther);
    }

    internal static RazorComponentResult<TPage> Page<TPage>(HttpContext context, ConsoleUser? user, int status, Dictionary<string, object?> parameters) where TPage : Microsoft.AspNetCore.Components.IComponent
    {
        // Every form on the page carries this request's antiforgery token; the frame names who is signed in.
        parameters[nameof(SignInPage.Form)] = context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context);
        parameters[nameof(SignInPage.UserName)] = user?.Name;
        parameters[nameof(SignInPage.IsAdmin)] = user?.IsAdmin ?? false;
        return new RazorComponentResult<TPage>(parameters) { StatusCode = status };
    }
}
