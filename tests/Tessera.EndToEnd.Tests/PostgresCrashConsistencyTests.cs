using Npgsql;
using Tessera.CrashTest;
using Tessera.Storage.Postgres.Tests;

namespace Tessera.EndToEnd.Tests;

/// <summary>
/// The crash-consistency harness (<see cref="CrashConsistencyTests"/>) on PostgreSQL: <c>tessera
/// serve</c> on a throwaway cluster (fsync and synchronous_commit on) is killed with SIGKILL under
/// a mixed load and restarted; everything acknowledged before the kill survives it.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Speed", "Slow")] // real processes; a developer's fast set leaves them out (README.md)
[Collection(PostgresCollection.Name)]
public sealed class PostgresCrashConsistencyTests(PostgresCluster cluster)
{
    [Fact]
    public async Task Everything_acknowledged_before_a_sigkill_survives_the_restart_on_postgres()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync(ct));
        var options = CrashConsistencyTests.Options(kills: 2, $"postgres://tessera@127.0.0.1:{cluster.Port}/{database.Database}");

        var report = await CrashHarness.RunAsync(options, ct);

        Assert.True(report.Violations.Count == 0, report.ToString());
        Assert.Equal(2, report.Kills);
        Assert.True(report.Acknowledged.Values.Sum() > 0, report.ToString());
    }
}
