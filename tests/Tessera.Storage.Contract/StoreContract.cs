using Tessera.Core.Audit;
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

    /// <summary>Asserts which events (by sequence number) <paramref name="query"/> finds.</summary>
    protected async Task AssertSeqs(AuditQuery query, params long[] expected)
    {
        var events = await Store.Audit.QueryAsync(query, Ct);
        Assert.Equal(expected, events.Select(e => e.Seq));
    }

    /// <summary>An audit record with the fields queries filter on.</summary>
    protected static AuditRecord Record(string agent, string? principal = null, string? mission = null, string? tool = null, string type = AuditTypes.TokenIssued) => new()
    {
        Type = type,
        Outcome = type == AuditTypes.TokenDenied ? AuditOutcomes.Denied : AuditOutcomes.Allowed,
        Agent = agent,
        Principal = principal,
        Mission = mission,
        Tool = tool,
    };

    protected static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }

    /// <summary>A kind of state change no store knows: applying it must fail, not be skipped.</summary>
    protected sealed record UnknownChange : StateChange;
}
