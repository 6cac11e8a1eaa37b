namespace Tessera.Core.Limits;

/// <summary>Whether a request may go on; when not, how long until it might, and which limit it met (said to the caller).</summary>
public readonly record struct LimitVerdict(bool Allowed, TimeSpan RetryAfter, string? Limit)
{
    public static readonly LimitVerdict Allow = new(true, TimeSpan.Zero, null);

    /// <summary>Whole seconds for a <c>Retry-After</c> header: at least one.</summary>
    public long RetryAfterSeconds => Seconds(RetryAfter);

    /// <summary><paramref name="retryAfter"/> in whole seconds, rounded up, at least one.</summary>
    public static long Seconds(TimeSpan retryAfter) => Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
}
