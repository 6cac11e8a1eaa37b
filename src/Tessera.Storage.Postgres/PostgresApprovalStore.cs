using System.Text.Json;
using Tessera.Core.Approvals;
using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres;

internal sealed class PostgresApprovalStore(PostgresTesseraStore store) : IApprovalStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static string Serialize(ApprovalRequest approval) => JsonSerializer.Serialize(approval, Json);

    public async Task<IReadOnlyList<ApprovalRequest>> LoadAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var command = store.Command("SELECT json FROM approvals WHERE status IN ('pending', 'approved') OR created_at >= @since ORDER BY created_at");
        command.Parameters.Add(Sql.Ms("since", since));
        var approvals = new List<ApprovalRequest>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            approvals.Add(JsonSerializer.Deserialize<ApprovalRequest>(reader.GetString(0), Json)
                ?? throw new InvalidDataException("an approval row holds no approval"));
        }

        return approvals;
    }

    public async Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var command = store.Command("DELETE FROM approvals WHERE status NOT IN ('pending', 'approved') AND expires_at < @before");
        command.Parameters.Add(Sql.Ms("before", before));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
