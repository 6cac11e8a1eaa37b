using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Tessera.Core.Approvals;

namespace Tessera.Server.Admin;

/// <summary>
/// The caller <see cref="AdminAuthorizationFilter"/> admitted to an admin route, kept as a request
/// feature for the handler (which runs only once the caller is admitted).
/// </summary>
/// <param name="Name">Who, as audit events name them: <c>idp:sub</c> or <c>bootstrap-admin</c>.</param>
/// <param name="IsAdmin">False only for an approver on a route that admits approvers.</param>
/// <param name="Approver">The caller as approvals see them (admins included) on a route that admits approvers; null elsewhere.</param>
internal sealed record AdminCaller(string Name, bool IsAdmin, Approver? Approver)
{
    /// <summary>The caller as an approver; only routes with <see cref="AdminAccess.AdminsAndApprovers"/> have one.</summary>
    public Approver AsApprover => Approver ?? throw new InvalidOperationException("This route does not admit approvers (AdminAccess).");

    public static AdminCaller Of(HttpContext context) => context.Features.GetRequiredFeature<AdminCaller>();
}
