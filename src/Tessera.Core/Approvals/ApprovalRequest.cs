namespace Tessera.Core.Approvals;

/// <summary>
/// A token request that waits for a person (docs/approvals.md): everything the approver
/// needs to decide and everything needed to sign the token afterwards. Immutable; each step
/// (decided, redeemed, expired) is a new snapshot stored with its audit event.
/// </summary>
public sealed record ApprovalRequest
{
    /// <summary>The CIBA <c>auth_req_id</c>: 32 random bytes, base64url. Also the id of the admin routes.</summary>
    public required string Id { get; init; }

    public required string Status { get; init; }

    /// <summary>The agent that asked; only it may poll.</summary>
    public required string ClientId { get; init; }

    /// <summary>The principal's <c>sub</c> the agent acts for; null when the agent acts for itself.</summary>
    public string? Principal { get; init; }

    public string? Idp { get; init; }

    /// <summary>Agents from the first actor to the current one; empty for client_credentials.</summary>
    public IReadOnlyList<string> ActorChain { get; init; } = [];

    public required string Tool { get; init; }

    public required string Audience { get; init; }

    /// <summary>Every scope the token will carry, gated or not.</summary>
    public required IReadOnlyList<string> Scopes { get; init; }

    /// <summary>The scopes that needed the approval.</summary>
    public required IReadOnlyList<string> GatedScopes { get; init; }

    public string? Mission { get; init; }
    public string? Purpose { get; init; }

    /// <summary>The exchange was from a principal's own token: redeeming starts the mission.</summary>
    public bool StartsMission { get; init; }

    /// <summary>Ids of the token's ancestors (mission, parent tokens), root first.</summary>
    public IReadOnlyList<string> Lineage { get; init; } = [];

    /// <summary>The agent's own words, from the <c>reason</c> parameter.</summary>
    public string? Reason { get; init; }

    /// <summary>RFC 9396 <c>authorization_details</c> (one <c>tessera_request</c> or <c>tessera_mcp_call</c>), as canonical JSON; null when not bound.</summary>
    public string? AuthorizationDetails { get; init; }

    /// <summary>
    /// For a <c>tessera_mcp_call</c>: the arguments the agent sent with its request, as RFC 8785
    /// canonical JSON (they hash to the detail's <c>arguments_sha256</c>), for the approver to read.
    /// Never in the token, an audit event or a log. Null when none were sent.
    /// </summary>
    public string? Arguments { get; init; }

    /// <summary>The approver group whose members decide.</summary>
    public required string Group { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When a pending request lapses; once approved, by when the agent must redeem it.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The CIBA polling interval in seconds.</summary>
    public required int Interval { get; init; }

    public string? DecidedBy { get; init; }
    public DateTimeOffset? DecidedAt { get; init; }
    public string? Comment { get; init; }

    /// <summary>The approval policy's <c>ttl</c> (the smallest of the gated scopes').</summary>
    public required TimeSpan Ttl { get; init; }

    /// <summary>The approval policy's <c>max_uses</c> (the smallest of the gated scopes').</summary>
    public required int MaxUses { get; init; }

    /// <summary>The token's lifetime: min(agent's, server's, approval's ttl).</summary>
    public required TimeSpan TokenLifetime { get; init; }

    /// <summary>A derived token never outlives its subject token: the latest <c>exp</c> allowed.</summary>
    public DateTimeOffset? NotAfter { get; init; }

    /// <summary>The DPoP key thumbprint of the asking request; the token is bound to it and polls must prove it.</summary>
    public string? Jkt { get; init; }

    /// <summary>The <c>jti</c> of the one token issued from this approval.</summary>
    public string? RedeemedJti { get; init; }

    /// <summary>The administrator who ended it (status <c>revoked</c>).</summary>
    public string? RevokedBy { get; init; }

    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>An audit event about this approval: who asked, for whom, for what.</summary>
    public Audit.AuditRecord ToAuditRecord(string type, string outcome, string reason, string? requestId) => new()
    {
        Type = type,
        Outcome = outcome,
        Principal = Principal,
        Agent = ClientId,
        ActorChain = ActorChain.Count > 0 ? ActorChain : null,
        Mission = Mission,
        Purpose = Purpose,
        Tool = Tool,
        Scopes = Scopes,
        Reason = reason,
        RequestId = requestId,
    };
}
