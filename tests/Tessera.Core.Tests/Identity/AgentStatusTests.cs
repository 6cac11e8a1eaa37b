namespace Tessera.Core.Tests.Identity;

public sealed class AgentStatusTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly Agent Agent = new(new AgentOptions
    {
        Id = "billing-bot",
        Owner = "team-billing",
        Purpose = "invoices",
        Expires = T0.AddDays(30),
        Auth = new AgentAuthOptions { ClientSecretSha256 = new byte[32] },
    });

    [Fact]
    public void An_agent_is_active_until_its_expiry_unless_suspended()
    {
        Assert.Equal(AgentStatus.Active, AgentStatus.Of(Agent, isSuspended: false, T0));
        Assert.Equal(AgentStatus.Active, AgentStatus.Of(Agent, isSuspended: false, Agent.Expires.AddTicks(-1)));
        Assert.Equal(AgentStatus.Suspended, AgentStatus.Of(Agent, isSuspended: true, T0));
    }

    [Fact]
    public void Days_left_count_whole_days_down_to_zero_at_and_after_expiry()
    {
        Assert.Equal(30, AgentStatus.DaysLeft(Agent, T0));
        Assert.Equal(29, AgentStatus.DaysLeft(Agent, T0.AddTicks(1)));
        Assert.Equal(0, AgentStatus.DaysLeft(Agent, Agent.Expires.AddHours(-23)));
        Assert.Equal(0, AgentStatus.DaysLeft(Agent, Agent.Expires));
        Assert.Equal(0, AgentStatus.DaysLeft(Agent, Agent.Expires.AddDays(10)));
    }

    [Fact]
    public void An_expired_agent_is_expired_even_when_suspended()
    {
        Assert.Equal(AgentStatus.Expired, AgentStatus.Of(Agent, isSuspended: false, Agent.Expires));
        Assert.Equal(AgentStatus.Expired, AgentStatus.Of(Agent, isSuspended: true, Agent.Expires.AddDays(1)));
    }

    [Fact]
    public void A_client_secret_is_active_until_its_expiry_and_one_without_expiry_always()
    {
        var expiring = new ClientSecret(new byte[32], T0.AddDays(1));
        var lasting = new ClientSecret(new byte[32], null);

        Assert.Equal(AgentStatus.Active, AgentStatus.Of(expiring, T0.AddDays(1).AddTicks(-1)));
        Assert.Equal(AgentStatus.Expired, AgentStatus.Of(expiring, T0.AddDays(1)));
        Assert.Equal(AgentStatus.Active, AgentStatus.Of(lasting, T0.AddYears(10)));
    }

    [Fact]
    public void The_statuses_are_the_words_of_the_admin_api()
    {
        Assert.Equal("active", AgentStatus.Active);
        Assert.Equal("suspended", AgentStatus.Suspended);
        Assert.Equal("expired", AgentStatus.Expired);
    }
}
