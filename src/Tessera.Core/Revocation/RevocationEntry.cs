using Tessera.Core.Storage;

namespace Tessera.Core.Revocation;

/// <summary>
/// One durable revocation. For tokens and missions the id goes into the revoked set; for agents and
/// principals it sets a revoked-before time. <see cref="ExpiresAt"/> is when every token it can
/// affect has expired, after which it is pruned.
/// </summary>
public sealed record RevocationEntry(RevocationKind Kind, string Id, DateTimeOffset RevokedAt, DateTimeOffset ExpiresAt) : StateChange;
