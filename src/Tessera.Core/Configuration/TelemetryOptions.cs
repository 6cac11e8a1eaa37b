namespace Tessera.Core.Configuration;

/// <summary>
/// <c>telemetry</c>: OpenTelemetry traces and metrics sent over OTLP (docs/observability.md). Absent,
/// nothing is traced or exported: no listener exists, and Tessera's spans cost one check each.
/// </summary>
/// <param name="Endpoint">
/// The collector: for <see cref="TelemetryProtocol.HttpProtobuf"/> its base URL (<c>/v1/traces</c> and
/// <c>/v1/metrics</c> are added), for <see cref="TelemetryProtocol.Grpc"/> the URL itself.
/// </param>
/// <param name="Protocol">How the exporter speaks to <paramref name="Endpoint"/>.</param>
/// <param name="ServiceName">The <c>service.name</c> resource attribute every span and metric carries.</param>
/// <param name="SampleRatio">The share of traces recorded (0 to 1), decided where a trace starts; a caller's sampled flag is followed.</param>
public sealed record TelemetryOptions(Uri Endpoint, TelemetryProtocol Protocol, string ServiceName, double SampleRatio)
{
    public const string DefaultServiceName = "tessera";
}
