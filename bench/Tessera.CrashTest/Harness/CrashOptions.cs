namespace Tessera.CrashTest;

/// <summary>How one crash-consistency run goes.</summary>
internal sealed record CrashOptions
{
    /// <summary>How many times <c>tessera serve</c> is killed (and restarted).</summary>
    public int Kills { get; init; } = 50;

    /// <summary>Seeds every random choice: the kill moments and each worker's actions. Printed with every failure.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// <c>null</c> for SQLite in the run's directory, or a <c>postgres://</c> URL of an empty
    /// database (on a cluster with fsync and synchronous_commit on).
    /// </summary>
    public string? PostgresUrl { get; init; }

    /// <summary>The kill comes a random time in [<see cref="MinUptime"/>, <see cref="MaxUptime"/>] after the server is ready and the load started.</summary>
    public TimeSpan MinUptime { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxUptime { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>How long a restarted server may take to answer <c>/readyz</c> 200 before that is a violation.</summary>
    public TimeSpan ReadyBound { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Concurrent clients of the mixed load.</summary>
    public int Workers { get; init; } = 4;

    /// <summary>The built <c>tessera.dll</c> to run.</summary>
    public required string TesseraDll { get; init; }

    /// <summary>
    /// Proves the checks can fail: adds to the first kill's ledger a token issuance that never
    /// happened and an upstream request that was never forwarded, which the checks must report.
    /// </summary>
    public bool PlantUnrecordedActions { get; init; }

    /// <summary>Where each line of progress goes.</summary>
    public Action<string> Log { get; init; } = _ => { };

    public string StorageName => PostgresUrl is null ? "sqlite" : "postgres";
}
