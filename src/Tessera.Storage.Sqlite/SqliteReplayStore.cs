using Tessera.Core.Storage;

namespace Tessera.Storage.Sqlite;

internal sealed class SqliteReplayStore(SqliteTesseraStore store) : IReplayStore
{
    public async Task<IReadOnlyList<(string Key, DateTimeOffset ExpiresAt)>> LoadActiveAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT key, expires_at FROM used_assertions WHERE expires_at >= $now";
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        var result = new List<(string, DateTimeOffset)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add((reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))));
        }

        return result;
    }

    public Task<bool> TryUseAsync(string key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken) =>
        store.WithWriterAsync(async connection =>
        {
            // One statement: a new key inserts, an expired record takes the new expiry, a live one
            // makes the conditional update do nothing.
            await using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO used_assertions (key, expires_at) VALUES ($key, $exp)
                ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE used_assertions.expires_at < $now
                """;
            command.Parameters.AddWithValue("$key", key);
            command.Parameters.AddWithValue("$exp", expiresAt.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        }, cancellationToken);

    public Task<int> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        store.DeleteExpiredAsync("used_assertions", now, cancellationToken);
}
