using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tessera.Core.Leases;
using Tessera.Core.Revocation;
using Tessera.Server.Hosting;

namespace Tessera.Server.Leases;

/// <summary>
/// Runs <see cref="LeaseService.EndDueAsync"/> at start (ending leases a stopped process left
/// issuing), whenever a revocation is applied on this node (its own or another node's, so a revoked
/// mission's leases end at once), and when the next lease falls due; prunes leases ended a week ago
/// once an hour. Times come from the injected <see cref="TimeProvider"/>.
/// </summary>
internal sealed partial class LeaseReaper(LeaseService leases, RevocationIndex revocations, TimeProvider time, ILogger<LeaseReaper> logger) : BackgroundService
{
    internal static readonly TimeSpan Retention = TimeSpan.FromDays(7);
    private static readonly TimeSpan AfterFailure = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PruneEvery = TimeSpan.FromHours(1);

    private TaskCompletionSource _woken = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        revocations.Applied += Wake;
        try
        {
            var pruneAt = time.GetUtcNow();
            while (!stoppingToken.IsCancellationRequested)
            {
                // Installed before the pass: a revocation applied during it completes this one, so the next pass follows at once.
                // (Wake completes whichever is installed, so the wait must be on the one installed now, not on the one it replaced.)
                var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _woken, fresh);
                var woken = fresh.Task;
                DateTimeOffset next;
                try
                {
                    next = await leases.EndDueAsync(stoppingToken);
                    TesseraMetrics.LeaseRevokeFailures.IncTo(leases.RevokeFailures);
                    TesseraMetrics.LeasesFailingToEnd.Set(leases.Failing);
                    if (time.GetUtcNow() >= pruneAt)
                    {
                        await leases.PruneAsync(Retention, stoppingToken);
                        pruneAt = time.GetUtcNow() + PruneEvery;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.PassFailed(logger, ex);
                    next = time.GetUtcNow() + AfterFailure;
                }

                var wait = next - time.GetUtcNow();
                if (wait > TimeSpan.Zero && !woken.IsCompleted)
                {
                    await Task.WhenAny(woken, Task.Delay(wait, time, stoppingToken));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        finally
        {
            revocations.Applied -= Wake;
        }
    }

    private void Wake() => Volatile.Read(ref _woken).TrySetResult();

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Checking leases failed; trying again in 5 s")]
        public static partial void PassFailed(ILogger logger, Exception exception);
    }
}
