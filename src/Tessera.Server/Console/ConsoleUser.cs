using System.Security.Claims;
using Tessera.Core.Approvals;

namespace Tessera.Server.Console;

/// <summary>
/// Who is signed in to the console, as the session cookie carries them: the name audit events use,
/// whether they are an admin (else an approver), and the identity approvals see. Never the token.
/// </summary>
internal sealed record ConsoleUser(string Name, bool IsAdmin, string? Idp, string? Sub)
{
    private const string RoleAdmin = "admin";
    private const string RoleApprover = "approver";
    private const string IdpClaim = "tessera:idp";
    private const string SubClaim = "tessera:sub";

    public Approver AsApprover => new(Name, Idp, Sub);

    public string Role => IsAdmin ? RoleAdmin : RoleApprover;

    public ClaimsPrincipal ToPrincipal()
    {
        List<Claim> claims = [new(ClaimTypes.Name, Name), new(ClaimTypes.Role, Role)];
        if (Idp is not null && Sub is not null)
        {
            claims.Add(new Claim(IdpClaim, Idp));
            claims.Add(new Claim(SubClaim, Sub));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, ConsoleSession.Scheme));
    }

    public static ConsoleUser? From(ClaimsPrincipal? principal)
    {
        var name = principal?.FindFirstValue(ClaimTypes.Name);
        var role = principal?.FindFirstValue(ClaimTypes.Role);
        return name is null || role is not (RoleAdmin or RoleApprover)
            ? null
            : new ConsoleUser(name, role == RoleAdmin, principal!.FindFirstValue(IdpClaim), principal!.FindFirstValue(SubClaim));
    }
}
