using Tessera.Core.Storage;

namespace Tessera.Core.Cluster;

/// <summary>
/// Keeps this node current with the others on its database: reads the change log after the last
/// applied entry, applies each entry in order, and marks the node current as of the moment the read
/// began. It reads on every notification and at least every <see cref="Heartbeat"/>
/// (max_staleness / 4), so a lost notification delays a change by at most a heartbeat, and a node
/// whose reads fail stops being current after max_staleness (<see cref="ClusterFreshness"/>).
/// </summary>
/// <remarks>
/// Why the log and not the notifications: NOTIFY is lost while a listener is disconnected, and is
/// only a hint here; the log is durable and ordered, so a node that reconnects (or missed a
/// notification) catches up by reading it, never by trusting what it heard.
/// </remarks>
public sealed class ClusterSync(IChangeFeed feed, ClusterChangeApplier applier, ClusterFreshness freshness, TimeProvider time)
{
    private long _applied = -1;

    /// <summary>How long the node waits for a notification before it reads the log anyway.</summary>
    public TimeSpan Heartbeat => freshness.MaxStaleness / 4;

    /// <summary>The id of the last entry applied (-1 before <see cref="StartAsync"/>).</summary>
    public long LastApplied => Volatile.Read(ref _applied);

    /// <summary>Raised after each entry is applied to memory (for metrics and for tests that wait for a change).</summary>
    public event Action<ClusterChange>? ChangeApplied;

    /// <summary>
    /// Raised with the failure and how many failed in a row (1 for the first) when a read, an apply
    /// or the listener failed; the loop retries.
    /// </summary>
    public event Action<Exception, int>? Failed;

    /// <summary>
    /// Remembers the log's head before the node loads its state from the store, so every change
    /// committed while it loads is applied again afterwards (applying twice is harmless).
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken) =>
        Volatile.Write(ref _applied, await feed.GetHeadAsync(cancellationToken));

    /// <summary>Reads the log once and applies what is new; marks the node current when every entry applied.</summary>
    public async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        if (LastApplied < 0)
        {
            throw new InvalidOperationException("StartAsync first");
        }

        var began = time.GetTimestamp();
        foreach (var change in await feed.ReadAfterAsync(LastApplied, cancellationToken))
        {
            await applier.ApplyAsync(change, cancellationToken);
            Volatile.Write(ref _applied, change.Id);
            ChangeApplied?.Invoke(change);
        }

        freshness.MarkCurrent(began);
    }

    /// <summary>
    /// Catches up on every notification and heartbeat until <paramref name="cancellationToken"/> ends.
    /// A failure is retried at once (a cut listener connection is opened again and the log read
    /// straight away); a second failure in a row waits a heartbeat first, so a database that is down
    /// is not hammered.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await CatchUpAsync(cancellationToken);
                await feed.WaitAsync(Heartbeat, cancellationToken);
                failures = 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Failed?.Invoke(ex, ++failures);
                if (failures > 1)
                {
                    try
                    {
                        await Task.Delay(Heartbeat, time, cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        }
    }
}
