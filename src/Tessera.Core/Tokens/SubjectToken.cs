namespace Tessera.Core.Tokens;

/// <summary>
/// A validated RFC 8693 subject token, whichever kind: a principal's JWT from an identity provider
/// (depth 0, no chain) or one of our mission tokens (with its chain, mission and lineage).
/// </summary>
internal sealed record SubjectToken
{
    public required string Principal { get; init; }
    public required string Idp { get; init; }

    /// <summary>What the subject may still delegate; null for a principal token that carries no scope claim.</summary>
    public required ScopeSet? Scope { get; init; }

    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Agents already acting, first to current; empty for a principal's token.</summary>
    public IReadOnlyList<string> ActorChain { get; init; } = [];

    public string? Mission { get; init; }
    public string? Purpose { get; init; }
    public string? Jti { get; init; }
    public IReadOnlyList<string> Lineage { get; init; } = [];

    /// <summary>RFC 8693 §4.4: the only actor the principal allows; null when the token names none.</summary>
    public string? MayAct { get; init; }

    public bool HasMayAct { get; init; }

    public string? CurrentActor => ActorChain.Count > 0 ? ActorChain[^1] : null;
}
