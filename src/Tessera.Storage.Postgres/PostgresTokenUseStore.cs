using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres;

internal sealed class PostgresTokenUseStore(PostgresTesseraStore store) : ITokenUseStore
{
    /// <summary>
    /// One statement, atomic on every node: the first use inserts; a later one takes the row's lock
    /// and increments only while below the limit, judged on the row as the previous use left it
    /// (PostgreSQL re-evaluates the condition on the latest version). At the limit the conditional
    /// update does nothing and returns no row.
    /// </summary>
    private const string Consume = """
        INSERT INTO token_uses (jti, used, max_uses, expires_at) VALUES (@jti, 1, @max, @exp)
        ON CONFLICT (jti) DO UPDATE SET used = token_uses.used + 1 WHERE token_uses.used < token_uses.max_uses
        RETURNING used
        """;

    public async Task<int?> TryConsumeAsync(string jti, int maxUses, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using var command = store.Command(Consume);
        command.Parameters.Add(Sql.Text("jti", jti));
        command.Parameters.Add(Sql.Int("max", maxUses));
        command.Parameters.Add(Sql.Ms("exp", expiresAt));
        var result = await command.ExecuteScalarAsync(cancellationToken);
        return result is int used && used <= maxUses ? used : null;
    }

    public Task PruneAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        store.DeleteExpiredAsync("token_uses", now, cancellationToken);
}
