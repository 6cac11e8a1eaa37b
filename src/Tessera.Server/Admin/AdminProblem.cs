using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Tessera.Server.Admin;

/// <summary>
/// The admin API's RFC 9457 problems, one title per status. Each names the rule that refused
/// (a code of <c>RefusalCodes</c>) and leaves it on the request (<see cref="AdminRefusal"/>), so the
/// refusal is audited with that code before it is answered.
/// </summary>
internal static class AdminProblem
{
    public static ProblemHttpResult BadRequest(HttpContext context, string code, string detail) => Refuse(context, 400, "Bad request", code, detail);

    public static ProblemHttpResult Forbidden(HttpContext context, string code, string detail, bool audited = false) => Refuse(context, 403, "Forbidden", code, detail, audited);

    public static ProblemHttpResult NotFound(HttpContext context, string code, string detail, bool audited = false) => Refuse(context, 404, "Not found", code, detail, audited);

    public static ProblemHttpResult Conflict(HttpContext context, string code, string detail, bool audited = false) => Refuse(context, 409, "Conflict", code, detail, audited);

    /// <param name="context">The request refused.</param>
    /// <param name="status">The status answered.</param>
    /// <param name="title">The problem's title.</param>
    /// <param name="code">Which rule refused.</param>
    /// <param name="detail">The problem's detail, also the reason on record.</param>
    /// <param name="audited">Whether Core has recorded this refusal already.</param>
    public static ProblemHttpResult Refuse(HttpContext context, int status, string title, string code, string detail, bool audited = false)
    {
        context.Features.Set(new AdminRefusal(code, detail, audited));
        return TypedResults.Problem(statusCode: status, title: title, detail: detail);
    }
}
