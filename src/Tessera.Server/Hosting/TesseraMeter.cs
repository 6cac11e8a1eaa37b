using System.Diagnostics.Metrics;
using Prometheus;

namespace Tessera.Server.Hosting;

/// <summary>
/// The "Tessera" meter exported over OTLP: the Prometheus counters and gauges of
/// <see cref="TesseraMetrics"/>, read when the exporter collects. Why a bridge rather than a second
/// set of instruments: the hot paths count once, as they did, and both exports show the same numbers.
/// Names follow OpenTelemetry's conventions (<c>tessera.proxy.requests</c> for
/// <c>tessera_proxy_requests_total</c>), with the same labels as attributes.
/// </summary>
internal sealed class TesseraMeter
{
    public const string Name = "Tessera";

    public TesseraMeter(IMeterFactory meters)
    {
        var meter = meters.Create(Name);
        Counter(meter, "tessera.tokens.issued", "{token}", TesseraMetrics.TokensIssued);
        Counter(meter, "tessera.token_requests.denied", "{request}", TesseraMetrics.TokensDenied);
        Counter(meter, "tessera.introspections", "{request}", TesseraMetrics.Introspections);
        Counter(meter, "tessera.revocations", "{revocation}", TesseraMetrics.Revocations);
        Counter(meter, "tessera.proxy.requests", "{request}", TesseraMetrics.ProxyRequests);
        Counter(meter, "tessera.mcp.messages", "{message}", TesseraMetrics.McpMessages);
        Counter(meter, "tessera.leases", "{request}", TesseraMetrics.Leases);
        Counter(meter, "tessera.admin.requests", "{request}", TesseraMetrics.AdminRequests);
        Counter(meter, "tessera.cluster.changes_applied", "{change}", TesseraMetrics.ClusterChangesApplied);
        Counter(meter, "tessera.cluster.sync_failures", "{failure}", TesseraMetrics.ClusterSyncFailures);
        Counter(meter, "tessera.lease.revoke_failures", "{failure}", TesseraMetrics.LeaseRevokeFailures);
        Gauge(meter, "tessera.leases.failing_to_end", "{lease}", TesseraMetrics.LeasesFailingToEnd);
        Gauge(meter, "tessera.posture.findings", "{finding}", TesseraMetrics.PostureFindings);
    }

    /// <summary>
    /// prometheus-net publishes every .NET meter at <c>/metrics</c> unless told otherwise; this meter is
    /// the Prometheus counters themselves, which would appear there twice (as <c>tessera_tessera_*</c>).
    /// Takes effect before the first scrape (the adapter starts then), so the host calls it while it is built.
    /// </summary>
    public static void KeepOffPrometheus() =>
        Metrics.ConfigureMeterAdapter(adapter => adapter.InstrumentFilterPredicate = instrument => instrument.Meter.Name != Name);

    private static void Counter(Meter meter, string name, string unit, Prometheus.Counter counter) =>
        meter.CreateObservableCounter(name, () => Read(counter, static c => c.Value), unit, counter.Help);

    private static void Gauge(Meter meter, string name, string unit, Prometheus.Gauge gauge) =>
        meter.CreateObservableGauge(name, () => Read(gauge, static g => g.Value), unit, gauge.Help);

    /// <summary>One measurement per label set the collector has seen (one without labels when it has none).</summary>
    private static List<Measurement<double>> Read<TChild>(Collector<TChild> collector, Func<TChild, double> value)
        where TChild : ChildBase
    {
        var names = collector.LabelNames;
        if (names.Length == 0)
        {
            return [new Measurement<double>(value(collector.WithLabels()))];
        }

        var measurements = new List<Measurement<double>>();
        foreach (var values in collector.GetAllLabelValues())
        {
            var tags = new KeyValuePair<string, object?>[names.Length];
            for (var i = 0; i < names.Length; i++)
            {
                tags[i] = new(names[i], values[i]);
            }

            measurements.Add(new Measurement<double>(value(collector.WithLabels(values)), tags));
        }

        return measurements;
    }
}
