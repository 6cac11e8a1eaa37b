namespace Tessera.Core.Tests.Vault;

/// <summary>
/// Reads the vault's state back from the state changes an audit store committed, as a real store
/// would after a restart, so the tests see only what was made durable.
/// </summary>
internal sealed class MemorySecretStore(MemoryAuditStore audit) : ISecretStore
{
    public Task<IReadOnlyList<KeyEncryptionKey>> LoadKeysAsync(CancellationToken cancellationToken)
    {
        var keys = new Dictionary<string, KeyEncryptionKey>();
        foreach (var change in audit.Changes.OfType<VaultKeyChanged>())
        {
            keys[change.Key.Id] = change.Key;
            foreach (var removed in change.RemovedKeyIds)
            {
                keys.Remove(removed);
            }
        }

        return Task.FromResult<IReadOnlyList<KeyEncryptionKey>>([.. keys.Values]);
    }

    public Task<IReadOnlyList<SealedSecretVersion>> LoadVersionsAsync(CancellationToken cancellationToken)
    {
        var versions = new Dictionary<SecretVersionId, SealedSecretVersion>();
        foreach (var change in audit.Changes)
        {
            switch (change)
            {
                case SecretVersionAdded added:
                    if (added.Retires is { } old)
                    {
                        var id = new SecretVersionId(added.Version.Name, old);
                        versions[id] = versions[id] with { RetiredAt = added.Version.CreatedAt, DestroyAfter = added.DestroyAfter };
                    }

                    versions[new SecretVersionId(added.Version.Name, added.Version.Version)] = added.Version;
                    break;
                case VaultKeyChanged changed:
                    foreach (var r in changed.Rewrapped)
                    {
                        versions[r.Version] = versions[r.Version] with { KeyId = changed.Key.Id, WrappedKey = r.WrappedKey };
                    }

                    break;
                case SecretVersionsDestroyed destroyed:
                    foreach (var v in destroyed.Versions)
                    {
                        versions.Remove(v);
                    }

                    break;
            }
        }

        return Task.FromResult<IReadOnlyList<SealedSecretVersion>>([.. versions.Values]);
    }

    public Task<IReadOnlyDictionary<string, int>> LoadRecordedVersionsAsync(CancellationToken cancellationToken)
    {
        var recorded = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in audit.Events.Where(e => e.Record.Type is AuditTypes.SecretPut or AuditTypes.SecretRotated))
        {
            if (SecretVersionId.TryParse(e.Record.Secret, out var id) && id.Version > recorded.GetValueOrDefault(id.Name))
            {
                recorded[id.Name] = id.Version;
            }
        }

        return Task.FromResult<IReadOnlyDictionary<string, int>>(recorded);
    }
}
