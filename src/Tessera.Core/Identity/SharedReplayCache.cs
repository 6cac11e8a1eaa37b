using Tessera.Core.Storage;

namespace Tessera.Core.Identity;

/// <summary>
/// The replay cache of a node that shares its database with other nodes: a key this node has already
/// seen is refused from memory, without I/O; any other is recorded in the shared store by one
/// conditional write, which refuses it when another node recorded it first. The write completes
/// before the proof or assertion is accepted, so a replay at another node a moment later is refused.
/// </summary>
public sealed class SharedReplayCache(MemoryReplayCache local, IReplayStore store, TimeProvider time) : IReplayCache
{
    public async ValueTask<bool> TryUseAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        await local.TryUseAsync(key, expiresAt, cancellationToken)
        && await store.TryUseAsync(key, expiresAt, time.GetUtcNow(), cancellationToken);
}
