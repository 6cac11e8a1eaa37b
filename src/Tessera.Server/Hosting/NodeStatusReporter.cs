using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tessera.Core.Cluster;
using Tessera.Core.Configuration;

namespace Tessera.Server.Hosting;

/// <summary>
/// Reports which configuration this node runs (<see cref="NodeStatus"/>) to the store the nodes
/// share: once start-up is done (registered after <see cref="StartupService"/>, which migrates the
/// store), then every <see cref="NodeStatus.Heartbeat"/> and right after each reload. Registered only
/// on a store shared by several nodes. A failed report is logged and retried at the next heartbeat;
/// it never stops the node (the other nodes just stop listing it after <see cref="NodeStatus.Gone"/>).
/// </summary>
internal sealed partial class NodeStatusReporter(NodeStatus status, ConfigReloader reloader, TimeProvider time, ILogger<NodeStatusReporter> logger)
    : IHostedService, IAsyncDisposable
{
    // One report at a time, each reading the running configuration once it has its turn: a
    // heartbeat that read the old hash can never commit after the report of a reload.
    private readonly SemaphoreSlim _one = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private ITimer? _heartbeat;
    private Task _latest = Task.CompletedTask;
    private int _failuresInARow;
    private int _disposed;

    /// <summary>The report started last (tests await it after a reload, which starts one before it returns).</summary>
    internal Task Latest
    {
        get
        {
            lock (_lock)
            {
                return _latest;
            }
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        reloader.Reloaded += OnReloaded;
        await Report();
        _heartbeat = time.CreateTimer(_ => Report(), null, NodeStatus.Heartbeat, NodeStatus.Heartbeat);
    }

    private void OnReloaded(ConfigSnapshot snapshot) => Report();

    private Task Report()
    {
        lock (_lock)
        {
            return _latest = ReportAsync();
        }
    }

    /// <summary>Never throws: a failure is counted and logged.</summary>
    private async Task ReportAsync()
    {
        try
        {
            await _one.WaitAsync(_stopping.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        try
        {
            await status.ReportAsync(_stopping.Token);
            _failuresInARow = 0;
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception ex)
        {
            // A database that is down fails every heartbeat: the 1st, 10th, 100th... in a row are logged.
            var inARow = ++_failuresInARow;
            if (inARow is 1 or 10 or 100 or 1_000 or 10_000 or 100_000)
            {
                Log.ReportFailed(logger, inARow, ex);
            }
        }
        finally
        {
            _one.Release();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        reloader.Reloaded -= OnReloaded;
        if (_heartbeat is not null)
        {
            await _heartbeat.DisposeAsync();
        }

        await _stopping.CancelAsync();
        await Latest;
    }

    /// <summary>Idempotent: the container may dispose it twice (as itself and as a hosted service).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        reloader.Reloaded -= OnReloaded;
        if (_heartbeat is not null)
        {
            await _heartbeat.DisposeAsync();
        }

        await _stopping.CancelAsync();
        await Latest;
        _stopping.Dispose();
        _one.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 45, Level = LogLevel.Warning, Message = "Reporting this node's configuration to the shared store failed ({InArow} in a row); retrying at the next heartbeat (other nodes stop listing this one after 2 minutes)")]
        public static partial void ReportFailed(ILogger logger, int inArow, Exception exception);
    }
}
