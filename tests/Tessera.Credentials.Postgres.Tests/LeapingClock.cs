namespace Tessera.Credentials.Postgres.Tests;

/// <summary>The system's clock, except that every reading after the first is <paramref name="leap"/> later: a wait bounded by the clock is over at its first look.</summary>
public sealed class LeapingClock(TimeSpan leap) : TimeProvider
{
    private int _readings;

    public override DateTimeOffset GetUtcNow() =>
        System.GetUtcNow() + (Interlocked.Increment(ref _readings) > 1 ? leap : TimeSpan.Zero);
}
