using Tessera.Core.Storage;

namespace Tessera.Core.Vault;

/// <summary>
/// A new secret version, stored with the audit event that records it. When <see cref="Retires"/>
/// is set, that earlier version is retired at the new version's creation and destroyed after
/// <see cref="DestroyAfter"/>.
/// </summary>
public sealed record SecretVersionAdded(SealedSecretVersion Version, int? Retires, DateTimeOffset? DestroyAfter) : StateChange;
