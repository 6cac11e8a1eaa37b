namespace Tessera.Cli.Tests;

/// <summary>
/// <c>tessera revoke</c>: revoking an agent kills the tokens it holds, and says plainly that it can
/// still get new ones unless it is suspended too (<c>--suspend</c>, as <c>tessera agent suspend</c>).
/// </summary>
[Collection("Console")]
public sealed class RevokeCommandTests
{
    [Fact]
    public async Task Revoking_an_agent_says_that_it_can_still_get_new_tokens_and_how_to_stop_that()
    {
        await using var broker = await CliBroker.StartAsync();

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("revoke", "--agent", CliBroker.Agent, "--config", broker.ConfigPath);

        Assert.True(exit == 0, stderr);
        var lines = TesseraCli.Lines(stdout);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"revoked agent {CliBroker.Agent} at 2026-11-29T12:00:00.000Z: ", lines[0], StringComparison.Ordinal);
        Assert.Equal($"{CliBroker.Agent} can still get new tokens: stop that with 'tessera agent suspend {CliBroker.Agent}' (or revoke with --suspend)", lines[1]);

        // What it says is so: the agent gets a new token a moment later.
        using var next = await broker.RequestAgentTokenAsync();
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task Revoking_an_agent_with_suspend_also_stops_issuance_to_it()
    {
        await using var broker = await CliBroker.StartAsync();

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("revoke", "--agent", CliBroker.Agent, "--suspend", "--config", broker.ConfigPath);

        Assert.True(exit == 0, stderr);
        var lines = TesseraCli.Lines(stdout);
        Assert.Equal(2, lines.Length);
        Assert.Equal($"agent {CliBroker.Agent} is suspended: no new tokens until 'tessera agent resume {CliBroker.Agent}'", lines[0]);
        Assert.StartsWith($"revoked agent {CliBroker.Agent} at 2026-11-29T12:00:00.000Z: ", lines[1]);

        using var next = await broker.RequestAgentTokenAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, next.StatusCode);
        var (_, agents, _) = await TesseraCli.RunAsync("agent", "resume", CliBroker.Agent, "--config", broker.ConfigPath);
        Assert.Equal($"agent {CliBroker.Agent} is active\n", agents);
    }

    [Fact]
    public async Task Suspend_with_an_unknown_agent_suspends_and_revokes_nothing()
    {
        await using var broker = await CliBroker.StartAsync();

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("revoke", "--agent", "ghost-agent", "--suspend", "--config", broker.ConfigPath);

        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.Equal("Tessera refused (404): No agent 'ghost-agent' is configured.\n", stderr);
    }

    [Theory]
    [InlineData("--jti", "j-1")]
    [InlineData("--principal", "alice")]
    [InlineData("--mission", "m-1")]
    public async Task Suspend_with_anything_but_an_agent_is_a_usage_error(string option, string value)
    {
        var (exit, _, stderr) = await TesseraCli.RunAsync("revoke", option, value, "--suspend");

        Assert.Equal(2, exit);
        Assert.Contains("--suspend goes with --agent only", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_without_a_target_is_a_usage_error()
    {
        var (exit, _, stderr) = await TesseraCli.RunAsync("revoke");

        Assert.Equal(2, exit);
        Assert.Contains("Give exactly one of", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_with_two_targets_is_a_usage_error()
    {
        var (exit, _, _) = await TesseraCli.RunAsync("revoke", "--jti", "a", "--agent", "b");

        Assert.Equal(2, exit);
    }

    [Fact]
    public async Task Revoking_a_principal_prints_what_was_revoked_with_hostile_text_escaped()
    {
        await using var broker = await CliBroker.StartAsync();

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("revoke", "--principal", "mallory\n\u001b[1A\u202e", "--config", broker.ConfigPath);

        Assert.True(exit == 0, stderr);
        Assert.Equal("revoked principal mallory\\n\\x1b[1A\\u202e at 2026-11-29T12:00:00.000Z: every token issued on their behalf, and every console session they signed in, until then is dead\n", stdout);
    }
}
