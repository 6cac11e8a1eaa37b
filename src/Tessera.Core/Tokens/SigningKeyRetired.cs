using Tessera.Core.Storage;

namespace Tessera.Core.Tokens;

/// <summary>A signing key deleted from storage, in the same transaction as the audit event that records its retirement.</summary>
public sealed record SigningKeyRetired(string Kid) : StateChange;
