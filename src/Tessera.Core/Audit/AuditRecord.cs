namespace Tessera.Core.Audit;

/// <summary>
/// One decision to record, as its maker describes it. The audit log gives it a sequence number
/// and links it into the hash chain. Values are identifiers only: never a secret or a whole token.
/// </summary>
public sealed record AuditRecord
{
    public required string Type { get; init; }
    public required string Outcome { get; init; }
    public string? Principal { get; init; }
    public string? Agent { get; init; }
    public IReadOnlyList<string>? ActorChain { get; init; }
    public string? Mission { get; init; }
    public string? Purpose { get; init; }
    public string? Tool { get; init; }
    public IReadOnlyList<string>? Scopes { get; init; }
    public string? Jti { get; init; }
    public string? Reason { get; init; }

    /// <summary>
    /// A refusal's stable code (<see cref="Protocol.RefusalCodes"/>), next to the free-text
    /// <see cref="Reason"/>: what a query or an alert should match. Absent on other events and on
    /// events written before codes existed, so their hashed JSON is unchanged.
    /// </summary>
    public string? ReasonCode { get; init; }
    public string? RequestId { get; init; }

    /// <summary>The secret a vault event is about (its name and version, never its value).</summary>
    public string? Secret { get; init; }

    /// <summary>A proxied request: method, normalized path, the rule that allowed it, upstream status and latency.</summary>
    public string? Method { get; init; }

    public string? Path { get; init; }

    public string? Rule { get; init; }

    public int? Status { get; init; }

    public double? LatencyMs { get; init; }

    /// <summary>An MCP message through the proxy: its JSON-RPC method (never its arguments).</summary>
    public string? McpMethod { get; init; }

    /// <summary>An MCP message's target: the tool or prompt name, or the resource URI (clipped).</summary>
    public string? McpName { get; init; }

    /// <summary>A database lease's id (<c>lease.*</c> events).</summary>
    public string? Lease { get; init; }

    /// <summary>A database lease's role: the user name the database logs show (never its password).</summary>
    public string? Role { get; init; }

    /// <summary>An <c>audit.checkpoint</c> event's signed statement: a compact JWS (<see cref="AuditCheckpoint"/>).</summary>
    public string? Checkpoint { get; init; }

    /// <summary>The configuration's hash (<c>sha256:…</c>) on <c>config.*</c> and <c>admin.server_started</c> events.</summary>
    public string? ConfigHash { get; init; }

    /// <summary>What a configuration reload changed, one line each (<c>agent added: ci-bot</c>; <see cref="Configuration.ConfigChange"/>).</summary>
    public IReadOnlyList<string>? Changes { get; init; }
}
