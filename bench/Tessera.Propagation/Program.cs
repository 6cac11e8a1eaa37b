// Revocation propagation between two nodes on one PostgreSQL database, as serve composes them:
// node A commits a revocation (its audit transaction: the revocations row, the changes entry,
// pg_notify); node B's ClusterSync hears the notification, reads the change log and applies the
// entry to its RevocationIndex. Measured one revocation at a time, from the moment A begins the
// commit to the moment the entry is in B's index (an upper bound of "acknowledged by A, applied by B").
//
//   dotnet run -c Release --project bench/Tessera.Propagation -- "Host=...;Database=...;Username=..." [count]
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
    Console.Error.WriteLine("usage: Tessera.Propagation CONNECTION_STRING [COUNT]");
    return 2;
}

var count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000;
var time = TimeProvider.System;
var config = ConfigLoader.Load("tools: []\n", "tessera.yaml", Path.GetTempPath());
using var masterKey = new MasterKey(RandomNumberGenerator.GetBytes(32));

await using var a = new PostgresTesseraStore(args[0], "bench-a");
await using var b = new PostgresTesseraStore(args[0], "bench-b");
await a.MigrateAsync(CancellationToken.None);

// Node B's in-memory state and its loop, as StartupService builds them.
await using var logB = new AuditLog(b.Audit, time, NullLogger<AuditLog>.Instance);
var index = new RevocationIndex();
using var keys = new SigningKeyService(b.SigningKeys, masterKey, logB, config, time);
using var vault = new SecretVault(b.Secrets, masterKey, logB, config, time);
var applier = new ClusterChangeApplier(index, new SuspendedAgents(b.AgentStates, logB, time), keys, vault,
    new ApprovalService(b.Approvals, logB, keys, index, NoApprovalNotifier.Instance, config, time));
var sync = new ClusterSync(b.Changes, applier, new ClusterFreshness(time, config.Cluster.MaxStaleness, shared: true), time);
await sync.StartAsync(CancellationToken.None);
await sync.CatchUpAsync(CancellationToken.None);

TaskCompletionSource<long>? waiting = null;
string? expected = null;
sync.ChangeApplied += change =>
{
    var now = Stopwatch.GetTimestamp();
    if (expected is not null && change.Kind == Tessera.Core.Storage.ClusterChangeKind.Revocation && change.Revocation().Id == expected)
    {
        waiting?.TrySetResult(now);
    }
};
using var stop = new CancellationTokenSource();
var loop = Task.Run(() => sync.RunAsync(stop.Token));

var run = Guid.NewGuid().ToString("N")[..8];
var latencies = new List<double>(count);
for (var i = -50; i < count; i++) // the first 50 warm up (connections, prepared statements, JIT)
{
    var id = $"bench-{run}-{i}";
    var now = time.GetUtcNow();
    waiting = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
    Volatile.Write(ref expected, id);
    var began = Stopwatch.GetTimestamp();
    await a.Audit.AppendAsync([], [new RevocationEntry(RevocationKind.Mission, id, now, now.AddMinutes(5))], CancellationToken.None);
    var applied = await waiting.Task.WaitAsync(TimeSpan.FromSeconds(10));
    if (i >= 0)
    {
        latencies.Add(Stopwatch.GetElapsedTime(began, applied).TotalMilliseconds);
    }
}

await stop.CancelAsync();
await loop;
latencies.Sort();
double At(double p) => latencies[(int)Math.Min(latencies.Count - 1, Math.Ceiling(p * latencies.Count) - 1)];
Console.WriteLine($"revocations: {latencies.Count}  p50 {At(0.50):F2} ms  p90 {At(0.90):F2} ms  p99 {At(0.99):F2} ms  max {latencies[^1]:F2} ms  (from A beginning the commit to B's index)");
return 0;
