using Tessera.Core.Storage;
using Tessera.Core.Tokens;

namespace Tessera.Storage.Postgres;

internal sealed class PostgresSigningKeyStore(PostgresTesseraStore store) : ISigningKeyStore
{
    public async Task<IReadOnlyList<StoredSigningKey>> LoadAsync(CancellationToken cancellationToken)
    {
        await using var command = store.Command("SELECT kid, alg, sealed, created_at, activates_at FROM signing_keys ORDER BY activates_at");
        var keys = new List<StoredSigningKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(new StoredSigningKey(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<byte[]>(2), Sql.Time(reader.GetInt64(3)), Sql.Time(reader.GetInt64(4))));
        }

        return keys;
    }

    public Task AddAsync(StoredSigningKey key, CancellationToken cancellationToken) =>
        store.Audit.AppendAsync([], [new SigningKeyAdded(key)], cancellationToken);

    public async Task DeleteAsync(string kid, CancellationToken cancellationToken)
    {
        await using var command = store.Command("DELETE FROM signing_keys WHERE kid = @kid");
        command.Parameters.Add(Sql.Text("kid", kid));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
