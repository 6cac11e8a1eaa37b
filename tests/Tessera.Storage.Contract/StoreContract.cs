using Tessera.Core.Storage;

namespace Tessera.Storage.Contract;

/// <summary>
/// The base of the storage contract: what every <see cref="ITesseraStore"/> promises, whatever holds
/// the data. Each test gets an empty database from <see cref="IStoreDatabase"/> and a migrated store
/// on it; the same test classes run against every store (one concrete class per store and contract).
/// </summary>
public abstract class StoreContract(IStoreDatabase database) : IAsyncLifetime
{
    protected IStoreDatabase Database { get; } = database;

    private protected AuditChain Chain { get; } = new();

    protected ITesseraStore Store { get; set; } = null!;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    public virtual async ValueTask InitializeAsync()
    {
        await Database.CreateAsync(Ct);
        Store = await OpenMigratedAsync();
    }

    /// <summary>Another store instance on the same database, migrated: another node, or this one after a restart.</summary>
    protected async Task<ITesseraStore> OpenMigratedAsync()
    {
        var store = Database.OpenStore();
        await store.MigrateAsync(Ct);
        return store;
    }

    /// <summary>Closes the store and opens the same database again, as a restart does.</summary>
    protected async Task ReopenAsync()
    {
        await Store.DisposeAsync();
        Store = await OpenMigratedAsync();
    }

    /// <summary>Asserts that <paramref name="write"/> fails because the database refused it (exactly <see cref="IStoreDatabase.WriteFailure"/>).</summary>
    protected async Task AssertWriteRefusedAsync(Func<Task> write)
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(write);
        Assert.IsType(Database.WriteFailure, ex, exactMatch: true);
    }

    public virtual async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        await Database.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
