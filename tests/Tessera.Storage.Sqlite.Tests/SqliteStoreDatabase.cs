using Tessera.Storage.Contract;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>The storage contract's database for the SQLite store: a fresh file in its own temporary directory.</summary>
public sealed class SqliteStoreDatabase : IStoreDatabase
{
    private readonly TempDatabase _db = new();

    public Type WriteFailure => typeof(SqliteException);

    public ValueTask CreateAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ITesseraStore OpenStore() => new SqliteTesseraStore(_db.Path);

    public Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        using var raw = _db.OpenRaw();
        using var command = raw.CreateCommand();
        command.CommandText = sql;
        return Task.FromResult(command.ExecuteScalar());
    }

    public ValueTask DisposeAsync()
    {
        _db.Dispose();
        return ValueTask.CompletedTask;
    }
}
