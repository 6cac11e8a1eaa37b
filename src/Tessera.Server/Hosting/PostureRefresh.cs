using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tessera.Core.Posture;

namespace Tessera.Server.Hosting;

/// <summary>
/// Recomputes the posture report every few minutes (the injected <see cref="TimeProvider"/>'s) for the
/// <c>tessera_posture_findings</c> gauges, so an operator can alert on a finding without anyone asking
/// for the report, and warns in the log when an agent comes within two weeks, then three days, of its
/// expiry (<see cref="ExpiryNotices"/>). A report reads counters, not the log: cheap at any size.
/// </summary>
internal sealed partial class PostureRefresh(PostureService posture, TimeProvider time, ILogger<PostureRefresh> logger) : BackgroundService
{
    internal static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        var notices = new ExpiryNotices();
        try
        {
            do
            {
                try
                {
                    var report = await posture.ReportAsync(stoppingToken);
                    TesseraMetrics.SetPostureFindings(report);
                    foreach (var expiring in notices.Due(report))
                    {
                        Log.AgentExpiring(logger, expiring.Agent!, expiring.Evidence, expiring.Recommendation);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The gauges keep their last values until the next pass.
                    Log.RefreshFailed(logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Computing the posture report for its gauges failed; retrying at the next pass")]
        public static partial void RefreshFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Agent '{Agent}' {Evidence}: {Recommendation}")]
        public static partial void AgentExpiring(ILogger logger, string agent, string evidence, string recommendation);
    }
}
