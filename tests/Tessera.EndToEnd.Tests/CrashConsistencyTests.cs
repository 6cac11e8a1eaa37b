using Tessera.CrashTest;

namespace Tessera.EndToEnd.Tests;

/// <summary>
/// The short version of the crash-consistency harness (bench/Tessera.CrashTest runs the long one):
/// <c>tessera serve</c> on SQLite is killed with SIGKILL a few times at random moments under a mixed
/// load and restarted; everything acknowledged before a kill survives it. The seed is new each run
/// (or <c>TESSERA_CRASH_SEED</c>) and printed with any failure, with the command that repeats it.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Speed", "Slow")] // real processes killed and restarted; a developer's fast set leaves them out (README.md)
public sealed class CrashConsistencyTests
{
    [Fact]
    public async Task Everything_acknowledged_before_a_sigkill_survives_the_restart_on_sqlite()
    {
        var report = await CrashHarness.RunAsync(Options(kills: 4), TestContext.Current.CancellationToken);

        Assert.True(report.Violations.Count == 0, report.ToString());
        Assert.Equal(4, report.Kills);
        Assert.True(report.Acknowledged.Values.Sum() > 0, report.ToString());
        Assert.Equal(4, report.ReadyTimes.Count);
    }

    [Fact]
    public async Task The_harness_reports_an_acknowledged_action_without_its_event_and_an_upstream_request_without_its_event()
    {
        var report = await CrashHarness.RunAsync(Options(kills: 1) with { PlantUnrecordedActions = true }, TestContext.Current.CancellationToken);

        Assert.Equal(
            [
                $"kill 1: Issued {CrashHarness.PlantedJti} was acknowledged before the kill, but no token.issued event records it",
                $"kill 1: the upstream received GET {CrashHarness.PlantedPath}, but no proxy.forwarded event records it",
            ],
            report.Violations.Select(v => v.ToString()));
        Assert.Contains("reproduce with: ", report.ToString(), StringComparison.Ordinal);
        Directory.Delete(report.KeptDirectory!, recursive: true);
    }

    /// <summary>The options of a short run: kills within two seconds of readiness, four workers, the seed of this run.</summary>
    internal static CrashOptions Options(int kills, string? postgresUrl = null) => new()
    {
        Kills = kills,
        Seed = Environment.GetEnvironmentVariable("TESSERA_CRASH_SEED") is { Length: > 0 } seed
            ? int.Parse(seed, System.Globalization.CultureInfo.InvariantCulture)
            : Random.Shared.Next(),
        PostgresUrl = postgresUrl,
        MaxUptime = TimeSpan.FromSeconds(2),
        TesseraDll = TesseraProcess.TesseraDll,
        Log = line => TestContext.Current.TestOutputHelper?.WriteLine(line),
    };
}
