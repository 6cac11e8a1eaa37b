using Tessera.Core.Posture;
using Tessera.Core.Storage;

namespace Tessera.Storage.Sqlite;

internal sealed class SqliteUsageStore(SqliteTesseraStore store) : IUsageStore
{
    public async Task<PostureUsage> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenReaderAsync(cancellationToken);
        var tokens = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var scopes = new Dictionary<string, Dictionary<string, DateTimeOffset>>(StringComparer.Ordinal);
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT agent, scope, last_at FROM agent_usage";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                PostureUsage.Add(tokens, scopes, reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)));
            }
        }

        var rules = new Dictionary<RuleUse, DateTimeOffset>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT scope, rule, last_at FROM rule_usage";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rules[new RuleUse(reader.GetString(0), reader.GetString(1))] = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2));
            }
        }

        return PostureUsage.Of(tokens, scopes, rules);
    }
}
