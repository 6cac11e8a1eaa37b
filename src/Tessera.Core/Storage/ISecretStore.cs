using Tessera.Core.Vault;

namespace Tessera.Core.Storage;

/// <summary>
/// The vault's storage. Reads happen at start (and, on several nodes, on notification); every write
/// is a <see cref="StateChange"/> committed with its audit event.
/// </summary>
public interface ISecretStore
{
    Task<IReadOnlyList<KeyEncryptionKey>> LoadKeysAsync(CancellationToken cancellationToken);

    /// <summary>Every version not yet destroyed, current and retired.</summary>
    Task<IReadOnlyList<SealedSecretVersion>> LoadVersionsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The newest version of each secret that the audit log records (its <c>secret.put</c> and
    /// <c>secret.rotated</c> events). The log is hash-chained and kept apart from the version rows,
    /// so a newest version deleted from storage still shows here, and the vault refuses the older one.
    /// </summary>
    Task<IReadOnlyDictionary<string, int>> LoadRecordedVersionsAsync(CancellationToken cancellationToken);
}
