using Tessera.Core.Tokens;

namespace Tessera.Core.Leases;

/// <summary>
/// A credential handed out for one token of one mission: who holds it and on whose behalf, what it
/// may do, and until when. It carries the token's lineage, so the lease ends with anything the token
/// dies with (the token, its mission or parents, an agent of its chain, its principal).
/// </summary>
public sealed record Lease
{
    public required string Id { get; init; }
    public required string Tool { get; init; }

    /// <summary>The credential's user name (a PostgreSQL role): named by Tessera before it exists.</summary>
    public required string Username { get; init; }

    public required LeaseStatus Status { get; init; }

    /// <summary>The agent that holds the lease (the token's <c>client_id</c>).</summary>
    public required string Agent { get; init; }

    /// <summary>The principal on whose behalf, or null for an agent acting for itself.</summary>
    public string? Principal { get; init; }

    public IReadOnlyList<string> ActorChain { get; init; } = [];
    public string? Mission { get; init; }
    public string? Purpose { get; init; }

    /// <summary>The token the lease was issued for.</summary>
    public required string Jti { get; init; }

    /// <summary>The token's lineage (parent tokens, mission), root first.</summary>
    public IReadOnlyList<string> Lineage { get; init; } = [];

    /// <summary>The token's <c>iat</c>, Unix seconds: an agent or principal revoked at or after it ends the lease.</summary>
    public required long TokenIssuedAt { get; init; }

    /// <summary>The scopes whose grants the credential holds.</summary>
    public required IReadOnlyList<string> Scopes { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the credential stops working: the lease's ttl, never past its token's <c>exp</c>.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>Why it ended (or is ending), for <c>tessera lease list</c>.</summary>
    public string? EndReason { get; init; }

    /// <summary>How many times ending it failed.</summary>
    public int Attempts { get; init; }

    /// <summary>When the next attempt to end it is due, while <see cref="LeaseStatus.Ending"/>.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>The last failure to end it (never a secret).</summary>
    public string? LastError { get; init; }

    /// <summary>The node that issued it (null on a single node).</summary>
    public string? Node { get; init; }

    /// <summary>The client and every actor: revoking any of them ends the lease.</summary>
    public IReadOnlyList<string> Agents => ActorChain.Count == 0 ? [Agent] : [Agent, .. ActorChain];

    /// <summary>A new lease for <paramref name="claims"/>, recorded before its credential exists.</summary>
    public static Lease Open(string id, string tool, AccessTokenClaims claims, IReadOnlyList<string> scopes, DateTimeOffset now, DateTimeOffset expiresAt, string? node) => new()
    {
        Id = id,
        Tool = tool,
        Username = LeaseNames.RoleOf(id),
        Status = LeaseStatus.Issuing,
        Agent = claims.ClientId,
        Principal = claims.Principal,
        ActorChain = claims.ActorChain,
        Mission = claims.Mission,
        Purpose = claims.Purpose,
        Jti = claims.Jti,
        Lineage = claims.Lineage,
        TokenIssuedAt = claims.IssuedAt,
        Scopes = scopes,
        CreatedAt = now,
        ExpiresAt = expiresAt,
        Node = node,
    };
}
