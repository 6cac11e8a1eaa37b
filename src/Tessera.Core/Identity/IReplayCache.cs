namespace Tessera.Core.Identity;

/// <summary>
/// Remembers one-time identifiers (client assertion <c>jti</c>, later DPoP proof <c>jti</c>) until
/// they expire. A port: one node keeps it in memory; several nodes share it through storage.
/// </summary>
public interface IReplayCache
{
    /// <summary>Records <paramref name="key"/>; false when it was already used and has not expired.</summary>
    ValueTask<bool> TryUseAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken);
}
