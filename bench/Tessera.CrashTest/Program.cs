// The crash-consistency harness (Harness/CrashHarness.cs): kills a real `tessera serve` with SIGKILL
// at random moments under a mixed load, restarts it each time and checks that everything acknowledged
// before a kill survived it. Prints one line per kill and a summary; exits 1 on any violation.
//
//   dotnet run -c Release --project bench/Tessera.CrashTest -- --kills 50 --seed 1 [--storage sqlite]
//   dotnet run -c Release --project bench/Tessera.CrashTest -- --kills 50 --seed 1 --storage postgres --database postgres://tessera@127.0.0.1:PORT/DB
//
// PostgreSQL: an empty database on a cluster with fsync and synchronous_commit on, e.g. one of
// bench/pg/cluster.sh (whose connection string names the host, port and database of the URL).
// Options: --workers N (4), --min-uptime MS (200), --max-uptime MS (4000), --ready-bound S (30).
using System.Globalization;
using Tessera.CrashTest;

var options = new CrashOptions { TesseraDll = Path.Combine(AppContext.BaseDirectory, "tessera.dll"), Log = Console.WriteLine, Seed = Environment.TickCount };
string storage = "sqlite";
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    int Number() => int.Parse(Next(), CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--kills": options = options with { Kills = Number() }; break;
        case "--seed": options = options with { Seed = Number() }; break;
        case "--storage": storage = Next(); break;
        case "--database": options = options with { PostgresUrl = Next() }; break;
        case "--workers": options = options with { Workers = Number() }; break;
        case "--min-uptime": options = options with { MinUptime = TimeSpan.FromMilliseconds(Number()) }; break;
        case "--max-uptime": options = options with { MaxUptime = TimeSpan.FromMilliseconds(Number()) }; break;
        case "--ready-bound": options = options with { ReadyBound = TimeSpan.FromSeconds(Number()) }; break;
        default:
            Console.Error.WriteLine($"unknown option {args[i]}; see the comment atop bench/Tessera.CrashTest/Program.cs");
            return 2;
    }
}

if ((storage == "postgres") != (options.PostgresUrl is not null) || storage is not ("sqlite" or "postgres"))
{
    Console.Error.WriteLine("--storage sqlite, or --storage postgres with --database postgres://...");
    return 2;
}

var report = await CrashHarness.RunAsync(options, CancellationToken.None);
Console.WriteLine();
Console.WriteLine(report);
return report.Violations.Count == 0 ? 0 : 1;
