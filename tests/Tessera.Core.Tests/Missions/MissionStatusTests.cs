namespace Tessera.Core.Tests.Missions;

public sealed class MissionStatusTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly MissionRecord Mission = new("m_1", "alice", "corp", ["billing-bot"], "close the month", T0, T0.AddHours(1));
    private readonly RevocationIndex _revocations = new();

    [Fact]
    public void A_mission_is_active_until_its_expiry_then_expired()
    {
        Assert.Equal(MissionStatus.Active, MissionStatus.Of(Mission, _revocations, T0));
        Assert.Equal(MissionStatus.Active, MissionStatus.Of(Mission, _revocations, Mission.ExpiresAt.AddTicks(-1)));
        Assert.Equal(MissionStatus.Expired, MissionStatus.Of(Mission, _revocations, Mission.ExpiresAt));
    }

    [Fact]
    public void A_revoked_mission_is_revoked_before_and_after_its_expiry()
    {
        _revocations.Apply(new RevocationEntry(RevocationKind.Mission, Mission.Id, T0, T0.AddHours(2)));

        Assert.Equal(MissionStatus.Revoked, MissionStatus.Of(Mission, _revocations, T0));
        Assert.Equal(MissionStatus.Revoked, MissionStatus.Of(Mission, _revocations, Mission.ExpiresAt.AddMinutes(1)));
    }

    [Fact]
    public void Revoking_the_principal_or_an_agent_or_another_mission_leaves_the_mission_active()
    {
        _revocations.Apply(new RevocationEntry(RevocationKind.Principal, "alice", T0, T0.AddHours(2)));
        _revocations.Apply(new RevocationEntry(RevocationKind.Agent, "billing-bot", T0, T0.AddHours(2)));
        _revocations.Apply(new RevocationEntry(RevocationKind.Mission, "m_2", T0, T0.AddHours(2)));

        Assert.Equal(MissionStatus.Active, MissionStatus.Of(Mission, _revocations, T0));
    }

    [Fact]
    public void The_statuses_are_the_words_of_the_admin_api()
    {
        Assert.Equal("active", MissionStatus.Active);
        Assert.Equal("expired", MissionStatus.Expired);
        Assert.Equal("revoked", MissionStatus.Revoked);
    }
}
