using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Tessera.Server.Admin;

/// <summary>The admin API's RFC 9457 problems, one title per status.</summary>
internal static class AdminProblem
{
    public static ProblemHttpResult BadRequest(string detail) => TypedResults.Problem(statusCode: 400, title: "Bad request", detail: detail);

    public static ProblemHttpResult Forbidden(string detail) => TypedResults.Problem(statusCode: 403, title: "Forbidden", detail: detail);

    public static ProblemHttpResult NotFound(string detail) => TypedResults.Problem(statusCode: 404, title: "Not found", detail: detail);

    public static ProblemHttpResult Conflict(string detail) => TypedResults.Problem(statusCode: 409, title: "Conflict", detail: detail);

}
