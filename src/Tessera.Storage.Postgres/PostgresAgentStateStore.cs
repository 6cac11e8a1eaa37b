using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres;

internal sealed class PostgresAgentStateStore(PostgresTesseraStore store) : IAgentStateStore
{
    public async Task<IReadOnlyList<(string AgentId, DateTimeOffset SuspendedAt)>> LoadSuspendedAsync(CancellationToken cancellationToken)
    {
        await using var command = store.Command("SELECT agent_id, suspended_at FROM agent_suspensions");
        var result = new List<(string, DateTimeOffset)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add((reader.GetString(0), Sql.Time(reader.GetInt64(1))));
        }

        return result;
    }
}
