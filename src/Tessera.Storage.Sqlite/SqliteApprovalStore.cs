using System.Text.Json;
using Tessera.Core.Approvals;
using Tessera.Core.Storage;

namespace Tessera.Storage.Sqlite;

internal sealed class SqliteApprovalStore(SqliteTesseraStore store) : IApprovalStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static string Serialize(ApprovalRequest approval) => JsonSerializer.Serialize(approval, Json);

    public async Task<IReadOnlyList<ApprovalRequest>> LoadAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT json FROM approvals WHERE status IN ('pending', 'approved') OR created_at >= $since ORDER BY created_at";
        command.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        var approvals = new List<ApprovalRequest>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            approvals.Add(JsonSerializer.Deserialize<ApprovalRequest>(reader.GetString(0), Json)
                ?? throw new InvalidDataException("an approval row holds no approval"));
        }

        return approvals;
    }

    public Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken) =>
        store.WithWriterAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM approvals WHERE status NOT IN ('pending', 'approved') AND expires_at < $before";
            command.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
}
