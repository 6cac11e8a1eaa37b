namespace Tessera.Core.Configuration;

/// <summary>
/// When the audit log cuts a signed checkpoint (<c>audit.checkpoint:</c>): after
/// <see cref="EveryEvents"/> events, or <see cref="Every"/> after the last checkpoint when any event
/// came since. On by default; a log without new events gets no checkpoint.
/// </summary>
public sealed record AuditCheckpointOptions(bool Enabled, int EveryEvents, TimeSpan Every)
{
    public const int DefaultEveryEvents = 1000;

    public static readonly TimeSpan DefaultEvery = TimeSpan.FromMinutes(5);

    public static AuditCheckpointOptions Default { get; } = new(true, DefaultEveryEvents, DefaultEvery);
}
