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
    ClientCredentials Client,
    string? RequestId)
{
    public string? Get(string name) => Parameters.TryGetValue(name, out var v) ? v : null;

    /// <summary>State to store with whatever audit event records this request (a spent client assertion).</summary>
    internal IReadOnlyList<Storage.StateChange> PendingChanges { get; init; } = [];
}
