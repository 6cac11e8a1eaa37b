using Tessera.Core.Configuration;
using Tessera.Core.Identity;

namespace Tessera.Core.Tokens;

/// <summary>
/// The one rule for how long an issued token lives: min(the agent's <c>max_ttl</c> or
/// <c>tokens.default_ttl</c>, <c>tokens.max_ttl</c>, the approval's <c>ttl</c> when a person
/// approved it, the subject token's remaining life when it was derived from one).
/// </summary>
internal static class TokenLifetime
{
    /// <summary>The lifetime an agent's tokens get: its own <c>max_ttl</c> or the default, never above <c>tokens.max_ttl</c>.</summary>
    public static TimeSpan For(Agent agent, TesseraConfig config) => Shorter(agent.MaxTtl ?? config.Tokens.DefaultTtl, config.Tokens.MaxTtl);

    /// <summary>The lifetime of a token a person approved: never longer than the approval's <c>ttl</c>.</summary>
    public static TimeSpan Approved(TimeSpan lifetime, TimeSpan approvalTtl) => Shorter(lifetime, approvalTtl);

    /// <summary>
    /// When a token issued at <paramref name="now"/> expires: a derived token never outlives the
    /// token it was derived from (<paramref name="notAfter"/>, when there is one).
    /// </summary>
    public static DateTimeOffset ExpiresAt(DateTimeOffset now, TimeSpan lifetime, DateTimeOffset? notAfter)
    {
        var expires = now + lifetime;
        return notAfter is { } end && end < expires ? end : expires;
    }

    private static TimeSpan Shorter(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
