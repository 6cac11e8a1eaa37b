namespace Tessera.Core.Tests.Tokens;

/// <summary>Signing keys kept in memory (the first one is created when a SigningKeyService initializes).</summary>
internal sealed class MemorySigningKeyStore : ISigningKeyStore
{
    private readonly List<StoredSigningKey> _keys = [];

    public Task<IReadOnlyList<StoredSigningKey>> LoadAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<StoredSigningKey>>([.. _keys]);

    public Task AddAsync(StoredSigningKey key, CancellationToken cancellationToken)
    {
        _keys.Add(key);
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string kid, CancellationToken cancellationToken)
    {
        _keys.RemoveAll(k => k.Kid == kid);
        return Task.CompletedTask;
    }
}
