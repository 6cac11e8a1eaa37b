using Tessera.Core.Storage;

namespace Tessera.Storage.Sqlite;

internal sealed class SqliteAgentStateStore(SqliteTesseraStore store) : IAgentStateStore
{
    public async Task<IReadOnlyList<(string AgentId, DateTimeOffset SuspendedAt)>> LoadSuspendedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT agent_id, suspended_at FROM agent_suspensions";
        var result = new List<(string, DateTimeOffset)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add((reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))));
        }

        return result;
    }
}
