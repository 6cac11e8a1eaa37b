namespace Tessera.Benchmarks;

/// <summary>A signing key store that keeps nothing: the service generates its first key in memory.</summary>
internal sealed class NullSigningKeyStore : ISigningKeyStore
{
    public Task<IReadOnlyList<StoredSigningKey>> LoadAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<StoredSigningKey>>([]);

    public Task AddAsync(StoredSigningKey key, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task DeleteAsync(string kid, CancellationToken cancellationToken) => Task.CompletedTask;
}
