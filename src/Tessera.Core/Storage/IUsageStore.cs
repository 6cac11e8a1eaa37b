using Tessera.Core.Posture;

namespace Tessera.Core.Storage;

/// <summary>
/// The usage counters (<see cref="UsageObserved"/>, written with the audit events they come from):
/// read whole for a posture report. Across nodes, the latest time any node recorded.
/// </summary>
public interface IUsageStore
{
    Task<PostureUsage> ReadAsync(CancellationToken cancellationToken);
}
