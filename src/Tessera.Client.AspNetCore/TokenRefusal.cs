namespace Tessera.Client.AspNetCore;

/// <summary>
/// Why this request's token was refused, kept on the request for the challenge: JwtBearer's own challenge
/// knows only the Bearer scheme, and DPoP refusals (RFC 9449 §7.1) and an unreachable issuer need their own answer.
/// </summary>
/// <param name="Status">401, 400 for a malformed request, 503 when Tessera could not be asked.</param>
/// <param name="Scheme"><c>Bearer</c> or <c>DPoP</c>: the scheme of the <c>WWW-Authenticate</c> challenge.</param>
/// <param name="Error">The RFC 6750 / RFC 9449 error code.</param>
/// <param name="Description">For a person; never holds the token.</param>
internal sealed record TokenRefusal(int Status, string Scheme, string Error, string Description)
{
    public static readonly object Key = new();
}
