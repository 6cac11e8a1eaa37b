using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Tessera.Core.Storage;

namespace Tessera.Storage.Sqlite;

/// <summary>
/// Every table of the embedded store read in one read transaction (WAL keeps its view fixed while a
/// writer commits), row by row: a million audit events never need a million objects at once.
/// </summary>
internal sealed class SqliteSnapshot : ITableSnapshot
{
    private readonly SqliteConnection _connection;
    private readonly SqliteTransaction _transaction;

    private SqliteSnapshot(SqliteConnection connection, SqliteTransaction transaction)
    {
        _connection = connection;
        _transaction = transaction;
    }

    public static async Task<SqliteSnapshot> OpenAsync(SqliteConnection connection, string path, CancellationToken cancellationToken)
    {
        // Deferred: the snapshot is fixed by the first read, the version check below, and holds no write lock.
        var transaction = connection.BeginTransaction(deferred: true);
        var snapshot = new SqliteSnapshot(connection, transaction);
        try
        {
            await using var version = snapshot.Command("SELECT COALESCE(MAX(version), 0) FROM schema_version");
            var found = Convert.ToInt32(await version.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            if (found != SqliteMigrations.Steps.Length)
            {
                throw new InvalidOperationException(found > SqliteMigrations.Steps.Length
                    ? $"{path} has schema version {found}, newer than this build understands ({SqliteMigrations.Steps.Length}); upgrade Tessera"
                    : $"{path} has schema version {found}, older than this build's ({SqliteMigrations.Steps.Length}); run 'tessera storage migrate' with its configuration first");
            }
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 1)
        {
            // SQLITE_ERROR on the read above: no schema_version table, so not a Tessera database.
            await snapshot.DisposeAsync();
            throw new InvalidOperationException($"{path} is not a Tessera database");
        }
        catch
        {
            await snapshot.DisposeAsync();
            throw;
        }

        return snapshot;
    }

    public async Task<IReadOnlyList<string>> TablesAsync(CancellationToken cancellationToken)
    {
        await using var command = Command("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_version' ORDER BY name");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var tables = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            tables.Add(reader.GetString(0));
        }

        return tables;
    }

    public async IAsyncEnumerable<object?[]> ReadAsync(string table, IReadOnlyList<string> columns, string orderBy, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Names come from the copying code, never from input; checked anyway, as they are spliced into SQL.
        foreach (var name in columns.Append(table).Concat(orderBy.Split(", ")))
        {
            if (name.Length == 0 || !name.All(c => c is (>= 'a' and <= 'z') or '_'))
            {
                throw new ArgumentException($"'{name}' is not a table or column name");
            }
        }

        await using var command = Command($"SELECT {string.Join(", ", columns)} FROM {table} ORDER BY {orderBy}");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var row = new object?[columns.Count];
        while (await reader.ReadAsync(cancellationToken))
        {
            for (var i = 0; i < row.Length; i++)
            {
                var value = reader.GetValue(i);
                row[i] = value is DBNull ? null : value;
            }

            yield return row;
        }
    }

    private SqliteCommand Command(string sql)
    {
        var command = _connection.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = sql;
        return command;
    }

    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
