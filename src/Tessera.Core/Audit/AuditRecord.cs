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
    public string? RequestId { get; init; }
}
