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
}
