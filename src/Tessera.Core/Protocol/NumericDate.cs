namespace Tessera.Core.Protocol;

/// <summary>
/// RFC 7519 NumericDate claims (<c>exp</c>, <c>nbf</c>) as times. A presented token may carry any
/// integer; one outside what <see cref="DateTimeOffset"/> can hold is clamped to its edge, which keeps
/// its meaning (far past, far future) without throwing on attacker-chosen values.
/// </summary>
internal static class NumericDate
{
    private static readonly long MinSeconds = DateTimeOffset.MinValue.ToUnixTimeSeconds();
    private static readonly long MaxSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    public static DateTimeOffset FromSeconds(long seconds) => DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, MinSeconds, MaxSeconds));
}
