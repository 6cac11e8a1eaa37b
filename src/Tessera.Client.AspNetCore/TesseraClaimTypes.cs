namespace Tessera.Client.AspNetCore;

/// <summary>
/// The claim types a validated Tessera token puts on the user, exactly as the token names them (inbound
/// claims are not renamed). The actor chain (<c>act</c>, RFC 8693 §4.1) is also on
/// <see cref="System.Security.Claims.ClaimsIdentity.Actor"/>: the current actor first, each with its own
/// <c>sub</c> and, further out, its own actor.
/// </summary>
public static class TesseraClaimTypes
{
    /// <summary><c>sub</c>: the principal the token acts for, or the agent itself for a client-credentials token.</summary>
    public const string Subject = "sub";

    /// <summary><c>client_id</c>: the agent that holds the token.</summary>
    public const string ClientId = "client_id";

    /// <summary><c>scope</c>: the granted scopes, space-separated.</summary>
    public const string Scope = "scope";

    /// <summary><c>act</c>: the actor chain as JSON, outermost = current actor.</summary>
    public const string Actor = "act";

    /// <summary><c>mission</c>: the mission a delegated token belongs to.</summary>
    public const string Mission = "mission";

    /// <summary><c>purpose</c>: the mission's stated purpose.</summary>
    public const string Purpose = "purpose";

    /// <summary><c>jti</c>: the token's id (what to log instead of the token).</summary>
    public const string TokenId = "jti";
}
