using Tessera.Core.Audit;
using Tessera.Core.Storage;
using Tessera.Core.Vault;

namespace Tessera.Storage.Postgres;

internal sealed class PostgresSecretStore(PostgresTesseraStore store) : ISecretStore
{
    /// <summary>
    /// Every node's chain: a version put through another node is as recorded as one put here. Its
    /// WHERE clause is exactly the partial index's, so only those events are read.
    /// </summary>
    internal const string RecordedVersionsQuery =
        "SELECT json, hash FROM audit_events WHERE type IN ('secret.put', 'secret.rotated')";

    public async Task<IReadOnlyDictionary<string, int>> LoadRecordedVersionsAsync(CancellationToken cancellationToken)
    {
        await using var command = store.Command(RecordedVersionsQuery);
        var recorded = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var record = AuditEvent.Parse(reader.GetFieldValue<byte[]>(0), reader.GetString(1)).Record;
            if (SecretVersionId.TryParse(record.Secret, out var id) && id.Version > recorded.GetValueOrDefault(id.Name))
            {
                recorded[id.Name] = id.Version;
            }
        }

        return recorded;
    }

    public async Task<IReadOnlyList<KeyEncryptionKey>> LoadKeysAsync(CancellationToken cancellationToken)
    {
        await using var command = store.Command("SELECT id, salt, created_at FROM vault_keys");
        var result = new List<KeyEncryptionKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new KeyEncryptionKey(reader.GetString(0), reader.GetFieldValue<byte[]>(1), Sql.Time(reader.GetInt64(2))));
        }

        return result;
    }

    public async Task<IReadOnlyList<SealedSecretVersion>> LoadVersionsAsync(CancellationToken cancellationToken)
    {
        await using var command = store.Command("""
            SELECT name, version, created_at, key_id, wrapped_key, ciphertext, retired_at, destroy_after
            FROM secret_versions WHERE destroyed_at IS NULL ORDER BY name, version
            """);
        var result = new List<SealedSecretVersion>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new SealedSecretVersion(
                reader.GetString(0),
                reader.GetInt32(1),
                Sql.Time(reader.GetInt64(2)),
                reader.IsDBNull(3) ? "" : reader.GetString(3),
                reader.IsDBNull(4) ? [] : reader.GetFieldValue<byte[]>(4),
                reader.IsDBNull(5) ? [] : reader.GetFieldValue<byte[]>(5),
                reader.IsDBNull(6) ? null : Sql.Time(reader.GetInt64(6)),
                reader.IsDBNull(7) ? null : Sql.Time(reader.GetInt64(7))));
        }

        return result;
    }
}
