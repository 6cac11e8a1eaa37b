using Tessera.Core.Storage;

namespace Tessera.Storage.Sqlite;

internal sealed class SqliteTokenUseStore(SqliteTesseraStore store) : ITokenUseStore
{
    public Task<int?> TryConsumeAsync(string jti, int maxUses, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        store.WithWriterAsync(async connection =>
        {
            // One statement: the first use inserts, later ones increment only while below the limit.
            // When the limit is reached the conditional update does nothing and returns no row.
            await using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO token_uses (jti, used, max_uses, expires_at) VALUES ($jti, 1, $max, $exp)
                ON CONFLICT (jti) DO UPDATE SET used = used + 1 WHERE token_uses.used < token_uses.max_uses
                RETURNING used
                """;
            command.Parameters.AddWithValue("$jti", jti);
            command.Parameters.AddWithValue("$max", maxUses);
            command.Parameters.AddWithValue("$exp", expiresAt.ToUnixTimeMilliseconds());
            var result = await command.ExecuteScalarAsync(cancellationToken);
            return result is long used && used <= maxUses ? (int?)used : null;
        }, cancellationToken);

    public Task PruneAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        store.DeleteExpiredAsync("token_uses", now, cancellationToken);
}
