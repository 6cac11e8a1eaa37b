namespace Tessera.Core.Identity;

/// <summary>
/// Where an agent stands, as the admin API (and any console) shows it. An expired registration
/// outranks a suspension: resuming the agent would not make it usable again.
/// </summary>
public static class AgentStatus
{
    public const string Active = "active";
    public const string Suspended = "suspended";
    public const string Expired = "expired";

    /// <param name="agent">The registered agent.</param>
    /// <param name="isSuspended">Whether its issuance is stopped (<see cref="SuspendedAgents.IsSuspended"/>).</param>
    /// <param name="now">The time to judge the expiry at.</param>
    public static string Of(Agent agent, bool isSuspended, DateTimeOffset now) =>
        agent.IsExpiredAt(now) ? Expired : isSuspended ? Suspended : Active;

    /// <summary>
    /// Whole days until the agent's registration expires, counted down (an agent expiring in 23 hours has
    /// 0 days left, and so has an expired one): what an owner has to act on.
    /// </summary>
    public static int DaysLeft(Agent agent, DateTimeOffset now) =>
        agent.IsExpiredAt(now) ? 0 : (int)Math.Min(int.MaxValue, Math.Floor((agent.Expires - now).TotalDays));

    /// <summary>One of the agent's client secrets: <see cref="Active"/> until its expiry, then <see cref="Expired"/>.</summary>
    public static string Of(ClientSecret secret, DateTimeOffset now) => secret.IsExpiredAt(now) ? Expired : Active;
}
