using Tessera.Core.Posture;

namespace Tessera.Core.Tests.Posture;

public sealed class ExpiryNoticesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static PostureReport Report(params (string Agent, PostureSeverity Severity)[] expiring) =>
        new(Now, TimeSpan.FromDays(30), [],
            [.. expiring.Select(e => new PostureFinding(PostureFindingTypes.AgentExpiringSoon, e.Severity, "expires soon", "renew") { Agent = e.Agent })], []);

    [Fact]
    public void An_agent_is_warned_about_once_at_two_weeks_and_once_more_at_three_days()
    {
        var notices = new ExpiryNotices();

        Assert.Empty(notices.Due(Report(("bot", PostureSeverity.Low))));
        Assert.Equal("bot", Assert.Single(notices.Due(Report(("bot", PostureSeverity.Medium)))).Agent);
        Assert.Empty(notices.Due(Report(("bot", PostureSeverity.Medium))));
        Assert.Equal(PostureSeverity.High, Assert.Single(notices.Due(Report(("bot", PostureSeverity.High)))).Severity);
        Assert.Empty(notices.Due(Report(("bot", PostureSeverity.High))));
    }

    [Fact]
    public void A_renewed_agent_is_forgotten_and_warned_about_again_when_it_comes_close_again()
    {
        var notices = new ExpiryNotices();
        Assert.Single(notices.Due(Report(("bot", PostureSeverity.High))));

        Assert.Empty(notices.Due(Report()));
        Assert.Single(notices.Due(Report(("bot", PostureSeverity.Medium))));
    }

    [Fact]
    public void Other_findings_are_never_warned_about_here()
    {
        var report = new PostureReport(Now, TimeSpan.FromDays(30), [],
            [new PostureFinding(PostureFindingTypes.AgentExpired, PostureSeverity.High, "expired", "remove") { Agent = "old" }], []);

        Assert.Empty(new ExpiryNotices().Due(report));
    }
}
