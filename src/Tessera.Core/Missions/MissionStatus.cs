using Tessera.Core.Revocation;

namespace Tessera.Core.Missions;

/// <summary>
/// Where a mission stands, as the admin API (and any console) shows it. Only a revocation of the
/// mission itself makes it <see cref="Revoked"/>: revoking its principal or an agent ends tokens,
/// not the mission. Revoked outranks expired.
/// </summary>
public static class MissionStatus
{
    public const string Active = "active";
    public const string Expired = "expired";
    public const string Revoked = "revoked";

    public static string Of(MissionRecord mission, RevocationIndex revocations, DateTimeOffset now) =>
        revocations.IsIdRevoked(mission.Id) ? Revoked : mission.ExpiresAt <= now ? Expired : Active;
}
