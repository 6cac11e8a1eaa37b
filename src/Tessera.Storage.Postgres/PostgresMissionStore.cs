using System.Text.Json;
using Npgsql;
using Tessera.Core.Missions;
using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres;

internal sealed class PostgresMissionStore(PostgresTesseraStore store) : IMissionStore
{
    private const string Columns = "id, principal, idp, actor_chain, purpose, started_at, expires_at";

    public async Task<MissionRecord?> FindAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = store.Command($"SELECT {Columns} FROM missions WHERE id = @id");
        command.Parameters.Add(Sql.Text("id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<IReadOnlyList<MissionRecord>> ListAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken)
    {
        await using var command = store.Command($"SELECT {Columns} FROM missions WHERE started_at >= @since ORDER BY started_at DESC LIMIT @limit");
        command.Parameters.Add(Sql.Ms("since", since));
        command.Parameters.Add(Sql.Int("limit", Math.Clamp(limit, 1, 10_000)));
        var missions = new List<MissionRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            missions.Add(Read(reader));
        }

        return missions;
    }

    private static MissionRecord Read(NpgsqlDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        r.GetString(2),
        JsonSerializer.Deserialize<List<string>>(r.GetString(3)) ?? [],
        r.IsDBNull(4) ? null : r.GetString(4),
        Sql.Time(r.GetInt64(5)),
        Sql.Time(r.GetInt64(6)));
}
