using Tessera.Core.Storage;
using Tessera.Core.Tokens;

namespace Tessera.Storage.Sqlite;

internal sealed class SqliteSigningKeyStore(SqliteTesseraStore store) : ISigningKeyStore
{
    public async Task<IReadOnlyList<StoredSigningKey>> LoadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT kid, alg, sealed, created_at, activates_at FROM signing_keys ORDER BY activates_at";
        var keys = new List<StoredSigningKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(new StoredSigningKey(
                reader.GetString(0),
                reader.GetString(1),
                (byte[])reader.GetValue(2),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
        }

        return keys;
    }

    public Task AddAsync(StoredSigningKey key, CancellationToken cancellationToken) =>
        store.Audit.AppendAsync([], [new SigningKeyAdded(key)], cancellationToken);

    public Task DeleteAsync(string kid, CancellationToken cancellationToken) =>
        store.WithWriterAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM signing_keys WHERE kid = $kid";
            command.Parameters.AddWithValue("$kid", kid);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
}
