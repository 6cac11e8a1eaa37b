using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tessera.Core.Posture;

namespace Tessera.Server.Hosting;

/// <summary>
/// Recomputes the posture report every few minutes (the injected <see cref="TimeProvider"/>'s) for the
/// <c>tessera_posture_findings</c> gauges, so an operator can alert on a finding without anyone asking
/// for the report. A report reads counters, not the log: cheap at any size.
/// </summary>
internal sealed partial class PostureRefresh(PostureService posture, TimeProvider time, ILogger<PostureRefresh> logger) : BackgroundService
{
    internal static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                try
                {
                    TesseraMetrics.SetPostureFindings(await posture.ReportAsync(stoppingToken));
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
    }
}
