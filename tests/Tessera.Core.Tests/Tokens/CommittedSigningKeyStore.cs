namespace Tessera.Core.Tests.Tokens;

/// <summary>Signing keys read back from the state changes an audit store committed, as a store shared by several nodes would hold them.</summary>
internal sealed class CommittedSigningKeyStore(MemoryAuditStore audit) : ISigningKeyStore
{
    public Task<IReadOnlyList<StoredSigningKey>> LoadAsync(CancellationToken cancellationToken)
    {
        var keys = new List<StoredSigningKey>();
        foreach (var change in audit.Changes)
        {
            switch (change)
            {
                case SigningKeyAdded added:
                    keys.Add(added.Key);
                    break;
                case SigningKeyRetired retired:
                    keys.RemoveAll(k => k.Kid == retired.Kid);
                    break;
            }
        }

        return Task.FromResult<IReadOnlyList<StoredSigningKey>>(keys);
    }

    public Task AddAsync(StoredSigningKey key, CancellationToken cancellationToken) =>
        audit.AppendAsync([], [new SigningKeyAdded(key)], cancellationToken);

    public Task DeleteAsync(string kid, CancellationToken cancellationToken) =>
        audit.AppendAsync([], [new SigningKeyRetired(kid)], cancellationToken);
}
