using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Tessera.Core.Configuration;
using Tessera.Core.Telemetry;

namespace Tessera.Server.Hosting;

/// <summary>
/// OpenTelemetry over OTLP (docs/observability.md), registered only when <c>telemetry:</c> is
/// configured: without it nothing listens to any <see cref="System.Diagnostics.ActivitySource"/>, so
/// neither Tessera nor ASP.NET Core creates a span, and the Prometheus endpoint is all there is.
/// </summary>
internal static class TesseraTelemetry
{
    public static void Add(IServiceCollection services, TelemetryOptions? options, string nodeId)
    {
        if (options is null)
        {
            return;
        }

        services.AddSingleton<TesseraMeter>();
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(options.ServiceName, serviceInstanceId: nodeId))
            .WithTracing(tracing => tracing
                // A caller's sampled flag is followed (its trace stays whole); a trace Tessera starts is sampled at the ratio.
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(options.SampleRatio)))
                .AddSource(TesseraTrace.SourceName)
                .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = IsTraced)
                .AddHttpClientInstrumentation()
                .AddOtlpExporter(otlp => Export(otlp, options, "v1/traces")))
            .WithMetrics(metrics => metrics
                .AddMeter(TesseraMeter.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                // The runtime's own meter (GC, thread pool, exceptions) since .NET 9: no package needed.
                .AddMeter("System.Runtime")
                .AddOtlpExporter(otlp => Export(otlp, options, "v1/metrics")));
    }

    /// <summary>Probes and scrapes are traced by nobody: they arrive every few seconds and serve no caller.</summary>
    private static bool IsTraced(HttpContext context)
    {
        var path = context.Request.Path;
        return !(path.StartsWithSegments("/metrics") || path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz"));
    }

    /// <summary>
    /// Points the exporter at the collector. An endpoint set in code is used as it is, so over
    /// http/protobuf the signal's path is added here, as the OTEL_EXPORTER_OTLP_ENDPOINT convention does.
    /// </summary>
    private static void Export(OtlpExporterOptions otlp, TelemetryOptions options, string signalPath)
    {
        if (options.Protocol == TelemetryProtocol.Grpc)
        {
            otlp.Protocol = OtlpExportProtocol.Grpc;
            otlp.Endpoint = options.Endpoint;
            return;
        }

        otlp.Protocol = OtlpExportProtocol.HttpProtobuf;
        otlp.Endpoint = new Uri(options.Endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/" + signalPath);
    }
}
