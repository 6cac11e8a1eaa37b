namespace Tessera.Core.Tests.Tokens;

/// <summary>
/// The lifetime rule: min(agent max_ttl or default_ttl, tokens.max_ttl, approval ttl, the subject
/// token's remaining life).
/// </summary>
public sealed class TokenLifetimeTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    private static readonly TesseraConfig Config = ConfigLoader.Load("""
        tokens:
          default_ttl: 5m
          max_ttl: 1h
        """, "tessera.yaml", Path.GetTempPath());

    private static Agent AgentWith(TimeSpan? maxTtl) => new(new AgentOptions
    {
        Id = "support-agent",
        Owner = "support-platform@corp.example",
        Purpose = "Answer customer tickets",
        Expires = Now.AddMonths(6),
        Auth = new AgentAuthOptions(),
        MaxTtl = maxTtl,
    });

    [Fact]
    public void An_agent_without_its_own_max_ttl_gets_the_default_ttl()
    {
        Assert.Equal(TimeSpan.FromMinutes(5), TokenLifetime.For(AgentWith(null), Config));
    }

    [Fact]
    public void An_agents_max_ttl_applies_when_it_is_within_the_servers_max_ttl()
    {
        Assert.Equal(TimeSpan.FromMinutes(20), TokenLifetime.For(AgentWith(TimeSpan.FromMinutes(20)), Config));
        Assert.Equal(TimeSpan.FromMinutes(1), TokenLifetime.For(AgentWith(TimeSpan.FromMinutes(1)), Config));
    }

    [Fact]
    public void The_servers_max_ttl_caps_an_agents_longer_max_ttl()
    {
        Assert.Equal(TimeSpan.FromHours(1), TokenLifetime.For(AgentWith(TimeSpan.FromHours(5)), Config));
    }

    [Fact]
    public void The_servers_max_ttl_caps_a_default_ttl_above_it()
    {
        var config = Config with { Tokens = Config.Tokens with { DefaultTtl = TimeSpan.FromHours(2) } };

        Assert.Equal(TimeSpan.FromHours(1), TokenLifetime.For(AgentWith(null), config));
    }

    [Fact]
    public void An_approvals_ttl_shortens_the_lifetime_but_never_lengthens_it()
    {
        Assert.Equal(TimeSpan.FromMinutes(2), TokenLifetime.Approved(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(2)));
        Assert.Equal(TimeSpan.FromMinutes(5), TokenLifetime.Approved(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30)));
    }

    [Fact]
    public void A_token_without_a_subject_token_lives_its_whole_lifetime()
    {
        Assert.Equal(Now.AddMinutes(5), TokenLifetime.ExpiresAt(Now, TimeSpan.FromMinutes(5), null));
    }

    [Fact]
    public void A_derived_token_never_outlives_its_subject_token()
    {
        Assert.Equal(Now.AddMinutes(2), TokenLifetime.ExpiresAt(Now, TimeSpan.FromMinutes(5), Now.AddMinutes(2)));
        Assert.Equal(Now.AddMinutes(5), TokenLifetime.ExpiresAt(Now, TimeSpan.FromMinutes(5), Now.AddMinutes(30)));
    }
}
