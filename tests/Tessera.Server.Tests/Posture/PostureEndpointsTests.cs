using System.Globalization;

namespace Tessera.Server.Tests.Posture;

public sealed class PostureEndpointsTests
{
    [Fact]
    public async Task The_report_shows_each_agents_use_reach_and_right_sized_scopes_and_its_counters_survive_a_restart()
    {
        var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync("crm:read");

        using (var report = await ReportAsync(broker))
        {
            var support = Agent(report, "support-agent");
            Assert.Equal(["crm:read"], Strings(support.GetProperty("scopes_used")));
            Assert.Equal(["crm:export", "vault:read"], Strings(support.GetProperty("scopes_unused")));
            Assert.Equal(["crm:read"], Strings(support.GetProperty("right_sized_scopes")));
            Assert.Equal(["crm", "vault"], Strings(support.GetProperty("reach").GetProperty("tools")));
            Assert.Equal("tessera revoke --agent support-agent", support.GetProperty("kill_switch").GetString());
            Assert.Equal(broker.Time.GetUtcNow(), DateTimeOffset.Parse(support.GetProperty("last_token_at").GetString()!, CultureInfo.InvariantCulture));
            Assert.False(Agent(report, "expired-agent").TryGetProperty("last_token_at", out _));
        }

        broker = await broker.RestartAsync();
        await using (broker)
        {
            using var report = await ReportAsync(broker);
            Assert.Equal(["crm:read"], Strings(Agent(report, "support-agent").GetProperty("scopes_used")));

            var findings = report.RootElement.GetProperty("findings").EnumerateArray().Select(f => (f.GetProperty("type").GetString(), f.GetProperty("severity").GetString(),
                f.TryGetProperty("agent", out var a) ? a.GetString() : null, f.TryGetProperty("scope", out var s) ? s.GetString() : null)).ToList();
            Assert.Contains(("agent.expired", "high", "expired-agent", null), findings);
            Assert.Contains(("agent.unused_scope", "medium", "support-agent", "crm:export"), findings);
            Assert.Contains(("agent.secret_auth", "medium", "support-agent", null), findings);
            Assert.DoesNotContain(findings, f => f.Item1 == "agent.stale" && f.Item3 == "support-agent");

            // Nothing secret in any form: no client secret or its hash, no token.
            var text = report.RootElement.GetRawText();
            Assert.DoesNotContain(TestBroker.SupportSecret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(TestBroker.Sha256Hex(TestBroker.SupportSecret), text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(token.Split('.')[2], text, StringComparison.Ordinal);

            // The gauges are the process's (every broker of this test run sets them): that they are served, by type and severity.
            var metrics = await broker.Client.GetStringAsync("/metrics");
            Assert.Contains("tessera_posture_findings{type=\"agent.expired\",severity=\"high\"} ", metrics, StringComparison.Ordinal);
            Assert.Contains("tessera_posture_findings{type=\"delegation.widens_reach\",severity=\"low\"} ", metrics, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_right_sized_scopes_pasted_into_the_configuration_allow_every_observed_use_and_nothing_else()
    {
        var broker = await TestBroker.StartAsync();
        // vault:read needs a DPoP proof and crm:export is never asked for: only crm:read is used.
        var observed = new[] { "crm:read" };
        foreach (var scope in observed)
        {
            using var issued = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", scope));
            Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
        }

        List<string?> rightSized;
        using (var report = await ReportAsync(broker))
        {
            rightSized = Strings(Agent(report, "support-agent").GetProperty("right_sized_scopes"));
        }

        Assert.Equal(["crm:read"], rightSized);

        // Paste the fragment into tessera.yaml and restart on the same data.
        await broker.StopForRestartAsync();
        var yaml = TestBroker.DefaultYaml().Replace(
            TestBroker.SupportAgentYaml("\"crm:read\", \"crm:export\", \"vault:read\""),
            TestBroker.SupportAgentYaml(string.Join(", ", rightSized.Select(s => $"\"{s}\""))), StringComparison.Ordinal);
        await using var resized = await TestBroker.StartAsync(yaml, broker.Directory, broker.Time);

        // Every use observed is still allowed, with the same scopes granted...
        foreach (var scope in observed)
        {
            using var replayed = await resized.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", scope));
            Assert.Equal(HttpStatusCode.OK, replayed.StatusCode);
            using var json = await TestBroker.ReadJsonAsync(replayed);
            Assert.Equal(scope, json.RootElement.GetProperty("scope").GetString());
        }

        // ...and the scopes never used are no longer grantable.
        foreach (var scope in new[] { "crm:export", "vault:read" })
        {
            using var unused = await resized.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", scope));
            Assert.Equal(HttpStatusCode.BadRequest, unused.StatusCode);

            // A scope of a tool the agent still reaches is invalid_scope; one of a tool it no longer reaches, invalid_target.
            using var error = await TestBroker.ReadJsonAsync(unused);
            Assert.Equal(scope == "crm:export" ? "invalid_scope" : "invalid_target", error.RootElement.GetProperty("error").GetString());
        }

        using var after = await ReportAsync(resized);
        Assert.DoesNotContain(after.RootElement.GetProperty("findings").EnumerateArray(),
            f => f.GetProperty("type").GetString() == "agent.unused_scope" && f.GetProperty("agent").GetString() == "support-agent");
    }

    [Fact]
    public async Task Only_an_admin_reads_the_report()
    {
        await using var broker = await TestBroker.StartAsync();
        var token = await broker.IssueAsync("crm:read");

        using var agent = await broker.SendAsync(HttpMethod.Get, "/admin/v1/posture", token);
        using var nobody = await broker.SendAsync(HttpMethod.Get, "/admin/v1/posture", null);

        Assert.Equal(HttpStatusCode.Unauthorized, agent.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, nobody.StatusCode);
    }

    private static async Task<JsonDocument> ReportAsync(TestBroker broker)
    {
        using var response = await broker.AdminAsync(HttpMethod.Get, "/admin/v1/posture");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await TestBroker.ReadJsonAsync(response);
    }

    private static JsonElement Agent(JsonDocument report, string id) =>
        report.RootElement.GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("id").GetString() == id);

    private static List<string?> Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString())];
}
