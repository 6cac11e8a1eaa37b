using Tessera.Core.Identity;

namespace Tessera.Core.Tokens;

/// <summary>
/// A token request as the HTTP layer parsed it: single-valued parameters (duplicates were already
/// refused), the multi-valued RFC 8707 <c>resource</c> and RFC 8693 <c>audience</c>, and the client's
/// authentication.
/// </summary>
public sealed record TokenRequest(
    IReadOnlyDictionary<string, string> Parameters,
    IReadOnlyList<string> Resources,
    IReadOnlyList<string> Audiences,
    ClientAuthenticationAttempt Client,
    string? RequestId)
{
    public string? Get(string name) => Parameters.TryGetValue(name, out var v) ? v : null;

    /// <summary>The request's <c>DPoP</c> header (RFC 9449), if it sent exactly one.</summary>
    public string? DpopProof { get; init; }

    /// <summary>How many <c>DPoP</c> headers the request carried; more than one is refused.</summary>
    public int DpopProofCount { get; init; }

    /// <summary>The thumbprint of the verified proof key; the issued token is bound to it.</summary>
    internal string? DpopJkt { get; init; }

    /// <summary>State to store with whatever audit event records this request (a spent client assertion).</summary>
    internal IReadOnlyList<Storage.StateChange> PendingChanges { get; init; } = [];
}
