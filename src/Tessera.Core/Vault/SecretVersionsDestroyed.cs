using Tessera.Core.Storage;

namespace Tessera.Core.Vault;

/// <summary>Retired versions whose grace period ended: their ciphertext and wrapped key are erased; the metadata row stays.</summary>
public sealed record SecretVersionsDestroyed(IReadOnlyList<SecretVersionId> Versions, DateTimeOffset At) : StateChange;
