namespace Tessera.Core.Configuration;

/// <summary>
/// <c>rate_limits</c>: how many failures a source (remote address) or a client id may cause before
/// its further attempts are refused (429) without being checked or each audited. Only failures
/// count — failed client authentications, and requests refused as unauthenticated or malformed —
/// so an agent whose requests succeed is never limited, however fast it goes. The defaults are far
/// above what a working agent, or a handful of misconfigured ones behind one address, produce.
/// </summary>
public sealed record RateLimitOptions
{
    // Before Default: static fields are initialized in order, and Default's initializer reads it.
    public static readonly TimeSpan DefaultRefusalDelay = TimeSpan.FromMilliseconds(500);

    public static readonly RateLimitOptions Default = new();

    /// <summary>False switches every limit off (a front that limits instead, or a load test of refusals).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Failed client authentications for one client id per minute (secret methods only: a secret is what can be guessed).</summary>
    public int FailedAuthPerClient { get; init; } = 20;

    /// <summary>Failed client authentications from one source per minute, any method.</summary>
    public int FailedAuthPerSource { get; init; } = 60;

    /// <summary>Requests refused as unauthenticated or malformed from one source per second, sustained.</summary>
    public int RefusalsPerSecond { get; init; } = 5;

    /// <summary>How many such refusals one source may cause at once before the rate applies.</summary>
    public int RefusalBurst { get; init; } = 100;

    /// <summary>
    /// How long a request refused for being over an allowance (429) is held before its answer: a
    /// client that resends as soon as it is answered then costs this server a few requests a second
    /// instead of tens of thousands, which would starve the agents that are served. A held request
    /// costs a connection's memory, no CPU. Zero answers at once.
    /// </summary>
    public TimeSpan RefusalDelay { get; init; } = DefaultRefusalDelay;

    /// <summary>The longest <see cref="RefusalDelay"/> accepted: longer would hold a legitimate client that slipped over a limit too long.</summary>
    public static readonly TimeSpan MaxRefusalDelay = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How many sources and client ids are tracked, each (memory stays bounded however many a flood
    /// invents); past it, the untracked ones share one allowance.
    /// </summary>
    public int MaxTracked { get; init; } = 10_000;
}
