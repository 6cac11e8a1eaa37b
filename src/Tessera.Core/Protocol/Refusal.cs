namespace Tessera.Core.Protocol;

/// <summary>
/// One refusal as data: the stable code an operator filters and alerts on (<see cref="RefusalCodes"/>),
/// the error the caller sees, and the reason the audit log records (never sent on the wire).
/// </summary>
/// <param name="Code">A code of <see cref="RefusalCodes"/>; recorded as the event's <c>reason_code</c>.</param>
/// <param name="Error">What the caller is answered.</param>
/// <param name="Reason">The audit reason: identifiers only, never a secret or a whole token.</param>
public sealed record Refusal(string Code, OAuthError Error, string Reason);
