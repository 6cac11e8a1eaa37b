namespace Tessera.Core.Configuration;

/// <summary>The OTLP transports: <c>http/protobuf</c> (port 4318 by convention) and <c>grpc</c> (4317).</summary>
public enum TelemetryProtocol
{
    HttpProtobuf,
    Grpc,
}
