namespace Tessera.Client.AI;

/// <summary>What came of asking Tessera to approve one call: the token bound to it, or why not.</summary>
/// <param name="Token">The token issued for exactly the call, when approved.</param>
/// <param name="Reason">Why the call is not approved (denied, expired, refused), when not.</param>
internal sealed record ApprovalDecision(TesseraToken? Token, string? Reason);
