namespace Tessera.Cli.Tests;

/// <summary><c>tessera posture</c> against a real broker: the report as text and as JSON, and <c>--fail-on</c> as an exit code a pipeline can gate on.</summary>
[Collection("Console")]
public sealed class PostureCommandTests
{
    [Fact]
    public async Task The_text_shows_reach_kill_switch_and_findings_and_fail_on_exits_1_only_at_or_above_a_findings_severity()
    {
        await using var broker = await CliBroker.StartAsync();

        // support-agent has only a client secret and no token yet: two medium findings, no high one.
        var (exit, stdout, stderr) = await TesseraCli.RunAsync("posture", "--config", broker.ConfigPath);
        Assert.True(exit == 0, stderr);
        Assert.Contains("agent support-agent: active, owner support-platform@corp.example", stdout, StringComparison.Ordinal);
        Assert.Contains("reach:         tools crm; secrets (none); delegates to (none)", stdout, StringComparison.Ordinal);
        Assert.Contains("kill switch:   tessera revoke --agent support-agent", stdout, StringComparison.Ordinal);
        Assert.Contains("MEDIUM agent.secret_auth (agent support-agent)", stdout, StringComparison.Ordinal);
        Assert.Contains("MEDIUM agent.stale (agent support-agent): no token on record", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(CliBroker.AgentSecret, stdout, StringComparison.Ordinal);

        Assert.Equal(0, (await TesseraCli.RunAsync("posture", "--config", broker.ConfigPath, "--fail-on", "high")).Exit);
        Assert.Equal(1, (await TesseraCli.RunAsync("posture", "--config", broker.ConfigPath, "--fail-on", "medium")).Exit);
        Assert.Equal(2, (await TesseraCli.RunAsync("posture", "--config", broker.ConfigPath, "--fail-on", "critical")).Exit);

        // Once the agent has a token it is no longer stale; the JSON is the API's answer.
        using (var issued = await broker.RequestAgentTokenAsync())
        {
            Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
        }

        var (jsonExit, json, jsonErr) = await TesseraCli.RunAsync("posture", "--config", broker.ConfigPath, "--json");
        Assert.True(jsonExit == 0, jsonErr);
        using var report = JsonDocument.Parse(json);
        var types = report.RootElement.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("type").GetString()).ToList();
        Assert.Equal(["agent.secret_auth"], types);
        Assert.Equal(["crm:read"], report.RootElement.GetProperty("agents")[0].GetProperty("scopes_used").EnumerateArray().Select(s => s.GetString()));
    }
}
