using Tessera.Core.Tokens;

namespace Tessera.Core.Storage;

/// <summary>Signing keys, private parts encrypted under the master key.</summary>
public interface ISigningKeyStore
{
    Task<IReadOnlyList<StoredSigningKey>> LoadAsync(CancellationToken cancellationToken);

    Task AddAsync(StoredSigningKey key, CancellationToken cancellationToken);

    Task DeleteAsync(string kid, CancellationToken cancellationToken);
}
