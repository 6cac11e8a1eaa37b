namespace Tessera.Server.Admin;

/// <summary>
/// Endpoint metadata: who may call an admin route (<see cref="AdminAuthorizationFilter"/> admits
/// them). A route without it admits admins only, so a route added without a thought fails closed.
/// </summary>
internal sealed record AdminAccess(bool AdmitsApprovers)
{
    public static readonly AdminAccess Admins = new(AdmitsApprovers: false);

    /// <summary>
    /// Admins and members of any approver group. Which approvals one may see or decide is
    /// <see cref="Core.Approvals.ApprovalService"/>'s decision, not the route's.
    /// </summary>
    public static readonly AdminAccess AdminsAndApprovers = new(AdmitsApprovers: true);
}
