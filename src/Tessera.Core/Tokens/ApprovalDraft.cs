using Tessera.Core.Tools;

namespace Tessera.Core.Tokens;

/// <summary>
/// What the token endpoint decided a request would get, before a person approves it: handed to the
/// <see cref="IApprovalGate"/>, which turns it into a pending approval.
/// </summary>
internal sealed record ApprovalDraft
{
    public required string ClientId { get; init; }
    public string? Principal { get; init; }
    public string? Idp { get; init; }
    public IReadOnlyList<string> ActorChain { get; init; } = [];
    public required Tool Tool { get; init; }
    public required ScopeSet Scopes { get; init; }
    public required ScopeSet Gated { get; init; }
    public string? Mission { get; init; }
    public string? Purpose { get; init; }
    public bool StartsMission { get; init; }
    public IReadOnlyList<string> Lineage { get; init; } = [];
    public required TimeSpan TokenLifetime { get; init; }
    public DateTimeOffset? NotAfter { get; init; }
    public string? Jkt { get; init; }
}
