using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Core.Approvals;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
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

    public static void Map(WebApplication app, TesseraConfig config)
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
        ConsoleOidc.Map(console, config);
    }

    private static RedirectHttpResult Home(HttpContext context, ConsoleSession session)
    {
        var user = session.Current(context);
        return TypedResults.Redirect(user is null ? SignInPath : LandingPath(user));
    }

    private static FileStreamHttpResult Stylesheet()
    {
        var stream = typeof(ConsoleEndpoints).Assembly.GetManifestResourceStream("Tessera.Server.Console.console.css")!;
        return TypedResults.Stream(stream, "text/css; charset=utf-8");
    }

    internal static RazorComponentResult<SignInPage> SignInForm(HttpContext context, string? error, int status) =>
        Page<SignInPage>(context, null, status, new()
        {
            [nameof(SignInPage.Error)] = error,
            [nameof(SignInPage.OidcProvider)] = context.RequestServices.GetRequiredService<TesseraConfig>().Console.Oidc?.Idp,
        });

    /// <summary>
    /// Admits what the admin API admits (the bootstrap token, or an identity provider JWT of an admin
    /// or approver) and keeps only who it is in the session cookie, never the token.
    /// </summary>
    private static async Task<IResult> SignInAsync(HttpContext context, AdminAuthenticator admins, IAntiforgery antiforgery)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return await RefuseFormAsync(context, principal: null);
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var token = form["token"].ToString().Trim();
        var (caller, isAdmin, reason, code) = await admins.IdentifyAsync(token, context.RequestAborted);
        if (caller is null)
        {
            await RefuseSignInAsync(context, principal: null, reason!, code!);
            return SignInForm(context, "This token was not accepted. Paste the bootstrap token (data_dir/admin.token) or an identity provider token of an admin or approver.", StatusCodes.Status401Unauthorized);
        }

        var user = await StartSessionAsync(context, caller, isAdmin, "a token");
        return user is null
            ? SignInForm(context, NeitherAdminNorApprover, StatusCodes.Status403Forbidden)
            : SeeOther(context, LandingPath(user));
    }

    internal const string NeitherAdminNorApprover = "This identity is neither an admin nor a member of an approver group.";

    internal static string LandingPath(ConsoleUser user) => user.IsAdmin ? "/console/agents" : "/console/approvals";

    /// <summary>
    /// Signs in someone identified (by a token or by OpenID Connect) when they are an admin or an approver,
    /// and records it; anyone else is refused and recorded, and null returned.
    /// </summary>
    internal static async Task<ConsoleUser?> StartSessionAsync(HttpContext context, Approver caller, bool isAdmin, string means)
    {
        var services = context.RequestServices;
        if (!(isAdmin || services.GetRequiredService<ApprovalService>().IsApprover(caller)))
        {
            await RefuseSignInAsync(context, caller.Name, $"{caller.Name} is neither an admin nor an approver", RefusalCodes.AdminNotApprover);
            return null;
        }

        var user = services.GetRequiredService<ConsoleSession>().SignIn(context, caller.Name, isAdmin, caller.Idp, caller.Sub);
        await services.GetRequiredService<AuditLog>().AppendAsync(new AuditRecord
        {
            Type = AuditTypes.ConsoleSignedIn,
            Outcome = AuditOutcomes.Allowed,
            Principal = user.Name,
            Reason = $"signed in as {user.Role} with {means}",
            RequestId = context.TraceIdentifier,
        }, cancellationToken: context.RequestAborted);
        return user;
    }

    /// <summary>A refused sign-in: recorded (never the token), and counted against the source like any refused credential.</summary>
    internal static async Task RefuseSignInAsync(HttpContext context, string? principal, string reason, string code)
    {
        var services = context.RequestServices;
        await services.GetRequiredService<AuditLog>().AppendAsync(new AuditRecord
        {
            Type = AuditTypes.ConsoleSignInDenied,
            Outcome = AuditOutcomes.Denied,
            Principal = principal,
            Reason = reason,
            ReasonCode = code,
            RequestId = context.TraceIdentifier,
        }, cancellationToken: context.RequestAborted);
        services.GetRequiredService<RateLimits>().Refused(SourceAddress.From(context.Connection.RemoteIpAddress));
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

        await session.SignOutAsync(context, user);
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
            [nameof(AgentsPage.Findings)] = report.Findings,
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
