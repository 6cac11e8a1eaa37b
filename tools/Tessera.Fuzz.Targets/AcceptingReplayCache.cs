using Tessera.Core.Identity;

namespace Tessera.Fuzz.Targets;

/// <summary>
/// Accepts every jti: the replay cache is not under test, and remembering the fuzzer's millions of
/// inputs would make a target's outcome depend on the inputs before it.
/// </summary>
internal sealed class AcceptingReplayCache : IReplayCache
{
    public static AcceptingReplayCache Instance { get; } = new();

    public ValueTask<bool> TryUseAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken) => ValueTask.FromResult(true);
}
