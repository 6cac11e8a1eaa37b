using System.Globalization;
using System.Security.Claims;
using Tessera.Core.Approvals;
using Tessera.Core.Sessions;

namespace Tessera.Server.Console;

/// <summary>
/// Who is signed in to the console, as the session cookie carries them: the name audit events use,
/// whether they are an admin (else an approver), the identity approvals see, and the session (its id,
/// sign-in time and idle end, judged by <see cref="ConsoleSessions"/>). Never the token.
/// </summary>
internal sealed record ConsoleUser(string Name, bool IsAdmin, string? Idp, string? Sub, ConsoleSessionState Session)
{
    private const string RoleAdmin = "admin";
    private const string RoleApprover = "approver";
    private const string IdpClaim = "tessera:idp";
    private const string SubClaim = "tessera:sub";
    private const string SessionClaim = "tessera:sid";
    private const string SignedInClaim = "tessera:signed_in";

    public Approver AsApprover => new(Name, Idp, Sub);

    public string Role => IsAdmin ? RoleAdmin : RoleApprover;

    public ClaimsPrincipal ToPrincipal()
    {
        List<Claim> claims =
        [
            new(ClaimTypes.Name, Name),
            new(ClaimTypes.Role, Role),
            new(SessionClaim, Session.Id),
            new(SignedInClaim, Session.SignedInAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)),
        ];
        if (Idp is not null && Sub is not null)
        {
            claims.Add(new Claim(IdpClaim, Idp));
            claims.Add(new Claim(SubClaim, Sub));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, ConsoleSession.Scheme));
    }

    /// <summary>The user a cookie's ticket names, or null when it lacks anything (a cookie from before sessions had ids ends).</summary>
    public static ConsoleUser? From(ClaimsPrincipal? principal, DateTimeOffset idleUntil)
    {
        if (principal is null)
        {
            return null;
        }

        var name = principal.FindFirstValue(ClaimTypes.Name);
        var role = principal.FindFirstValue(ClaimTypes.Role);
        var id = principal.FindFirstValue(SessionClaim);
        if (name is null || role is not (RoleAdmin or RoleApprover) || string.IsNullOrEmpty(id)
            || !long.TryParse(principal.FindFirstValue(SignedInClaim), NumberStyles.None, CultureInfo.InvariantCulture, out var signedIn) || signedIn > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            return null;
        }

        var sub = principal.FindFirstValue(SubClaim);
        return new ConsoleUser(name, role == RoleAdmin, principal.FindFirstValue(IdpClaim), sub,
            new ConsoleSessionState(id, sub, DateTimeOffset.FromUnixTimeMilliseconds(signedIn), idleUntil));
    }
}
