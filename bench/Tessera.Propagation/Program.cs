// Revocation propagation between nodes on one PostgreSQL database, as serve composes them: node A
// commits a revocation (its audit transaction: the revocations row, the changes entry, pg_notify);
// every other node's ClusterSync hears the notification, reads the change log and applies the entry
// to its RevocationIndex. Measured one revocation at a time, from the moment A begins the commit to
// the moment the entry is in each other node's index (an upper bound of "acknowledged by A, applied
// by the node"), per node and over all of them.
//
//   dotnet run -c Release --project bench/Tessera.Propagation -- "Host=...;Database=...;Username=..." [count [nodes]]
//   bench/pg/propagation.sh [count [nodes]]     the same on a throwaway PostgreSQL (bench/pg/cluster.sh)
//
// The database should be empty or a Tessera database you may write to (it is migrated).
using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Tessera.Core.Approvals;
using Tessera.Core.Audit;
using Tessera.Core.Cluster;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Revocation;
using Tessera.Core.Tokens;
using Tessera.Core.Vault;
using Tessera.Storage.Postgres;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: Tessera.Propagation CONNECTION_STRING [COUNT [NODES]]");
    return 2;
}

var count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000;
var nodes = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3;
var time = TimeProvider.System;
var config = ConfigLoader.Load("tools: []\n", "tessera.yaml", Path.GetTempPath());
using var masterKey = new MasterKey(RandomNumberGenerator.GetBytes(32));

await using var a = new PostgresTesseraStore(args[0], "bench-a");
await a.MigrateAsync(CancellationToken.None);

// The other nodes' in-memory state and loops, as StartupService builds them.
var followers = new List<Follower>();
using var stop = new CancellationTokenSource();
for (var n = 1; n < nodes; n++)
{
    followers.Add(await Follower.StartAsync(args[0], $"bench-{(char)('a' + n)}", masterKey, config, time, stop.Token));
}

var run = Guid.NewGuid().ToString("N")[..8];
var latencies = followers.Select(_ => new List<double>(count)).ToArray();
var slowest = new List<double>(count);
for (var i = -50; i < count; i++) // the first 50 warm up (connections, prepared statements, JIT)
{
    var id = $"bench-{run}-{i}";
    var now = time.GetUtcNow();
    foreach (var f in followers)
    {
        f.Expect(id);
    }

    var began = Stopwatch.GetTimestamp();
    await a.Audit.AppendAsync([], [new RevocationEntry(RevocationKind.Mission, id, now, now.AddMinutes(5))], CancellationToken.None);
    var applied = await Task.WhenAll(followers.Select(f => f.Applied.WaitAsync(TimeSpan.FromSeconds(10))));
    if (i >= 0)
    {
        for (var n = 0; n < applied.Length; n++)
        {
            latencies[n].Add(Stopwatch.GetElapsedTime(began, applied[n]).TotalMilliseconds);
        }

        slowest.Add(Stopwatch.GetElapsedTime(began, applied.Max()).TotalMilliseconds);
    }
}

await stop.CancelAsync();
foreach (var f in followers)
{
    await f.DisposeAsync();
}

static string Summary(List<double> l)
{
    l.Sort();
    double At(double p) => l[(int)Math.Min(l.Count - 1, Math.Ceiling(p * l.Count) - 1)];
    return $"p50 {At(0.50):F2} ms  p90 {At(0.90):F2} ms  p99 {At(0.99):F2} ms  max {l[^1]:F2} ms";
}

Console.WriteLine($"{nodes} nodes, {count} revocations made through bench-a, from A beginning the commit to the entry in each node's index:");
for (var n = 0; n < followers.Count; n++)
{
    Console.WriteLine($"  {followers[n].Name}: {Summary(latencies[n])}");
}

Console.WriteLine($"  every node applied: {Summary(slowest)}");
Console.WriteLine($"  all samples: {Summary(latencies.SelectMany(l => l).ToList())}");
return 0;
