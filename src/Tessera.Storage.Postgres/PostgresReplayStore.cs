using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres;

internal sealed class PostgresReplayStore(PostgresTesseraStore store) : IReplayStore
{
    public async Task<IReadOnlyList<(string Key, DateTimeOffset ExpiresAt)>> LoadActiveAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = store.Command("SELECT key, expires_at FROM used_assertions WHERE expires_at >= @now");
        command.Parameters.Add(Sql.Ms("now", now));
        var result = new List<(string, DateTimeOffset)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add((reader.GetString(0), Sql.Time(reader.GetInt64(1))));
        }

        return result;
    }

    public Task<int> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        store.DeleteExpiredAsync("used_assertions", now, cancellationToken);
}
