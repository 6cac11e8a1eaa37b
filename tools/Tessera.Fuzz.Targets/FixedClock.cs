namespace Tessera.Fuzz.Targets;

/// <summary>
/// A clock standing still at one instant: a target's outcome depends on its input alone, so a crash
/// the fuzzer found replays the same way in a test.
/// </summary>
internal sealed class FixedClock : TimeProvider
{
    /// <summary>The instant the seed proofs and assertions are made for.</summary>
    public static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    public static FixedClock Instance { get; } = new();

    public override DateTimeOffset GetUtcNow() => Now;
}
