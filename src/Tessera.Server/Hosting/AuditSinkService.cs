using Microsoft.Extensions.Hosting;
using Prometheus;
using Tessera.Core.Audit.Sinks;

namespace Tessera.Server.Hosting;

/// <summary>
/// Runs the configured audit sinks (<c>audit.sinks</c>) beside the server, each on its own loop, and
/// reads their progress into the <c>tessera_audit_sink_*</c> metrics at every scrape. Requests never
/// wait for a sink: a sink only reads what the audit log has committed.
/// </summary>
internal sealed class AuditSinkService(AuditSinks sinks) : BackgroundService
{
    /// <summary>The sinks of the host that started last: the scrape callback cannot be removed, so it reads whichever is current.</summary>
    private static volatile AuditSinks? s_current;

    private static int s_registered;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (sinks.All.Count == 0)
        {
            return Task.CompletedTask;
        }

        s_current = sinks;
        if (Interlocked.Exchange(ref s_registered, 1) == 0)
        {
            Metrics.DefaultRegistry.AddBeforeCollectCallback(Observe);
        }

        return Task.WhenAll(sinks.All.Select(s => Task.Run(() => s.RunAsync(stoppingToken), CancellationToken.None)));
    }

    private static void Observe()
    {
        if (s_current is not { } current)
        {
            return;
        }

        foreach (var status in current.Status())
        {
            TesseraMetrics.AuditSinkLag.WithLabels(status.Name).Set(status.Lag);
            TesseraMetrics.AuditSinkFailures.WithLabels(status.Name).IncTo(status.Failures);
            TesseraMetrics.AuditSinkFailing.WithLabels(status.Name).Set(status.FailingSince is null ? 0 : 1);
        }
    }
}
