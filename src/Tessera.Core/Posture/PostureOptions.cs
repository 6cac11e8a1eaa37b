namespace Tessera.Core.Posture;

/// <summary>
/// The thresholds of the posture report (<c>posture:</c> in <c>tessera.yaml</c>, docs/posture.md).
/// </summary>
/// <param name="Window">How far back usage counts: a scope not granted within it is unused, a rule not matched within it is unmatched.</param>
/// <param name="StaleAfter">An agent with no token for this long is stale.</param>
/// <param name="MaxTtl">An agent whose tokens may live longer than this draws <c>agent.long_ttl</c>.</param>
/// <param name="RotateSecretsAfter">A vault secret whose current version is older than this draws <c>secret.not_rotated</c>.</param>
public sealed record PostureOptions(TimeSpan Window, TimeSpan StaleAfter, TimeSpan MaxTtl, TimeSpan RotateSecretsAfter)
{
    /// <summary>An agent whose registration ends within this draws <c>agent.expiring_soon</c> (fixed: a month's notice to review it).</summary>
    public static readonly TimeSpan ExpiringSoon = TimeSpan.FromDays(30);

    /// <summary>Within this the finding is medium, and the server logs a warning: two weeks to renew the agent or let it go.</summary>
    public static readonly TimeSpan ExpiryWarning = TimeSpan.FromDays(14);

    /// <summary>Within this the finding is high, and the server warns again: the agent stops at its expiry, without a reload.</summary>
    public static readonly TimeSpan ExpiryUrgent = TimeSpan.FromDays(3);

    /// <summary>How pressing an expiry <paramref name="left"/> away is: low within a month, medium within two weeks, high within three days.</summary>
    public static PostureSeverity ExpirySeverity(TimeSpan left) =>
        left <= ExpiryUrgent ? PostureSeverity.High : left <= ExpiryWarning ? PostureSeverity.Medium : PostureSeverity.Low;

    public static PostureOptions Default { get; } = new(TimeSpan.FromDays(30), TimeSpan.FromDays(30), TimeSpan.FromHours(1), TimeSpan.FromDays(90));
}
