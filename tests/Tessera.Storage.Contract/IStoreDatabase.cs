using Tessera.Core.Storage;

namespace Tessera.Storage.Contract;

/// <summary>
/// One empty database of one kind (a SQLite file, a PostgreSQL database) for one contract test, and
/// how to open stores on it. Disposing it deletes what it created.
/// </summary>
public interface IStoreDatabase : IAsyncDisposable
{
    /// <summary>Creates the empty database.</summary>
    ValueTask CreateAsync(CancellationToken cancellationToken);

    /// <summary>A new store instance on the database, not yet migrated; every call is another instance (another node, or a restart).</summary>
    ITesseraStore OpenStore();

    /// <summary>The exception type this kind of store throws when the database refuses a write (a duplicate key).</summary>
    Type WriteFailure { get; }

    /// <summary>Runs SQL directly on the database, bypassing the store, as someone with access to it would; returns the first column of the first row.</summary>
    Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken);
}
