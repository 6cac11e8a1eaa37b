using Tessera.Storage.Contract;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>
/// A fresh, migrated store over a temporary database per test, with a hand-built audit chain, so
/// each storage test class states only what it checks.
/// </summary>
public abstract class SqliteStoreTest : IAsyncLifetime
{
    private protected TempDatabase Db { get; } = new();

    private protected AuditChain Chain { get; } = new();

    protected SqliteTesseraStore Store { get; set; } = null!;

    /// <summary>The time the tests' events, approvals and revocations are stamped from.</summary>
    protected static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    public virtual async ValueTask InitializeAsync()
    {
        Store = new SqliteTesseraStore(Db.Path);
        await Store.MigrateAsync(Ct);
    }

    /// <summary>Closes the store and opens the same file again, as a restart does.</summary>
    protected async Task ReopenAsync()
    {
        await Store.DisposeAsync();
        Store = new SqliteTesseraStore(Db.Path);
        await Store.MigrateAsync(Ct);
    }

    public virtual async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        Db.Dispose();
        GC.SuppressFinalize(this);
    }
}
