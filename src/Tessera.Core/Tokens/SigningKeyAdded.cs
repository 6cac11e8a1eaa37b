using Tessera.Core.Storage;

namespace Tessera.Core.Tokens;

/// <summary>A new signing key, stored in the same transaction as the audit event that records its creation.</summary>
public sealed record SigningKeyAdded(StoredSigningKey Key) : StateChange;
