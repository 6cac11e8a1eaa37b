using Tessera.Core.Revocation;
using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres;

internal sealed class PostgresRevocationStore(PostgresTesseraStore store) : IRevocationStore
{
    public async Task<IReadOnlyList<RevocationEntry>> LoadActiveAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = store.Command("SELECT kind, id, revoked_at, expires_at FROM revocations WHERE expires_at >= @now");
        command.Parameters.Add(Sql.Ms("now", now));
        var entries = new List<RevocationEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new RevocationEntry((RevocationKind)reader.GetInt32(0), reader.GetString(1), Sql.Time(reader.GetInt64(2)), Sql.Time(reader.GetInt64(3))));
        }

        return entries;
    }

    public Task<int> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        store.DeleteExpiredAsync("revocations", now, cancellationToken);
}
