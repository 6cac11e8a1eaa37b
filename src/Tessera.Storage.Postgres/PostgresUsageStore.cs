using Tessera.Core.Posture;
using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres;

/// <summary>The usage counters of every node: the latest time of each counter over the nodes' rows.</summary>
internal sealed class PostgresUsageStore(PostgresTesseraStore store) : IUsageStore
{
    public async Task<PostureUsage> ReadAsync(CancellationToken cancellationToken)
    {
        var tokens = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var scopes = new Dictionary<string, Dictionary<string, DateTimeOffset>>(StringComparer.Ordinal);
        await using (var command = store.Command("SELECT agent, scope, max(last_at) FROM agent_usage GROUP BY agent, scope"))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                PostureUsage.Add(tokens, scopes, reader.GetString(0), reader.GetString(1), Sql.Time(reader.GetInt64(2)));
            }
        }

        var rules = new Dictionary<RuleUse, DateTimeOffset>();
        await using (var command = store.Command("SELECT scope, rule, max(last_at) FROM rule_usage GROUP BY scope, rule"))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rules[new RuleUse(reader.GetString(0), reader.GetString(1))] = Sql.Time(reader.GetInt64(2));
            }
        }

        return PostureUsage.Of(tokens, scopes, rules);
    }
}
