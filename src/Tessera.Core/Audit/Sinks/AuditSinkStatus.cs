namespace Tessera.Core.Audit.Sinks;

/// <summary>How far a sink has got, for metrics and the posture report.</summary>
/// <param name="Name">The sink's configured name.</param>
/// <param name="Delivered">The sequence number of the last event it delivered.</param>
/// <param name="Lag">Committed events of this node's chain it has not delivered yet.</param>
/// <param name="Failures">Failed attempts since start.</param>
/// <param name="FailingSince">When the current run of failures began; null while the last attempt succeeded.</param>
public sealed record AuditSinkStatus(string Name, long Delivered, long Lag, long Failures, DateTimeOffset? FailingSince);
