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

    public Task<int> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        store.DeleteExpiredAsync("used_assertions", now, cancellationToken);
}
