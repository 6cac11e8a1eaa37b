namespace Tessera.Cli.Tests;

// The command writes to the process console, which the tests capture one at a time.
[Collection("Console")]
public sealed class AgentCommandTests
{
    [Fact]
    public async Task Agent_list_shows_each_agents_status_owner_expiry_and_days_left()
    {
        await using var broker = await CliBroker.StartAsync();

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("agent", "list", "--config", broker.ConfigPath);

        Assert.True(exit == 0, stderr);
        // The broker's clock reads 2026-11-29T12:00Z; the agent expires 2027-06-30T00:00Z, 212.5 days later.
        Assert.Contains($"{CliBroker.Agent}  active     expires 2027-06-30T00:00:00.000Z (212 days left)  owner ", stdout, StringComparison.Ordinal);

        var (jsonExit, json, _) = await TesseraCli.RunAsync("agent", "list", "--json", "--config", broker.ConfigPath);
        Assert.Equal(0, jsonExit);
        using var line = JsonDocument.Parse(TesseraCli.Lines(json).First());
        Assert.Equal(212, line.RootElement.GetProperty("days_left").GetInt32());
    }
}
