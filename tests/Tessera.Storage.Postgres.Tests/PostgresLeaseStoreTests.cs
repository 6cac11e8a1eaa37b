using Tessera.Storage.Contract;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>The storage contract's <see cref="LeaseStoreContract"/>, on PostgreSQL, and claims of nodes racing each other.</summary>
public sealed class PostgresLeaseStoreTests(PostgresCluster cluster) : LeaseStoreContract(new PostgresStoreDatabase(cluster))
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Two_nodes_claiming_the_same_leases_at_once_each_take_a_disjoint_share_of_them_all()
    {
        await using var other = await OpenMigratedAsync();
        var ids = Enumerable.Range(0, 200).Select(i => $"l-{i:D3}").ToArray();
        foreach (var id in ids)
        {
            await Store.Leases.OpenAsync(Lease(id, T0), Ct);
        }

        // Both start together; each claim is one statement, so each row goes to whichever reaches it first.
        using var start = new Barrier(2);
        var a = Task.Run(async () =>
        {
            start.SignalAndWait(Ct);
            return await Store.Leases.ClaimAsync(ids, "node-a", T0, T0.AddSeconds(30), Ct);
        }, Ct);
        var b = Task.Run(async () =>
        {
            start.SignalAndWait(Ct);
            return await other.Leases.ClaimAsync([.. ids.Reverse()], "node-b", T0, T0.AddSeconds(30), Ct);
        }, Ct);
        var (byA, byB) = (await a, await b);

        Assert.Empty(byA.Intersect(byB));
        Assert.Equal(ids, byA.Concat(byB).Order(StringComparer.Ordinal));
    }
}
