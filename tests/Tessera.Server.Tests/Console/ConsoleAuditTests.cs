using System.Net;
using Microsoft.Data.Sqlite;
using Tessera.Core.Audit;
using Tessera.Core.Protocol;

namespace Tessera.Server.Tests.Console;

public sealed class ConsoleAuditTests
{
    private static Task<AuditEvent> AppendAsync(TestBroker broker, string type, string? agent = null, string? reason = null) =>
        broker.Service<AuditLog>().AppendAsync(new AuditRecord { Type = type, Outcome = AuditOutcomes.Allowed, Agent = agent, Reason = reason });

    private static async Task<ConsoleBrowser> AdminAsync(TestBroker broker)
    {
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);
        return browser;
    }

    [Fact]
    public async Task Filtering_by_agent_shows_only_that_agents_events()
    {
        await using var broker = await TestBroker.StartAsync();
        await AppendAsync(broker, AuditTypes.TokenIssued, "support-agent", "first-agent-event");
        await AppendAsync(broker, AuditTypes.TokenIssued, "other-agent", "second-agent-event");
        var browser = await AdminAsync(broker);

        var (response, body) = await browser.GetAsync("/console/audit?agent=support-agent");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("first-agent-event", body, StringComparison.Ordinal);
        Assert.DoesNotContain("second-agent-event", body, StringComparison.Ordinal);
        Assert.Contains("<label for=\"f-agent\">Agent</label>", body, StringComparison.Ordinal);
        Assert.Contains("id=\"f-agent\" name=\"agent\" type=\"text\" value=\"support-agent\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Filtering_by_type_shows_only_events_of_that_type()
    {
        await using var broker = await TestBroker.StartAsync();
        await AppendAsync(broker, AuditTypes.TokenIssued, "support-agent", "issued-event");
        var browser = await AdminAsync(broker);

        var (_, body) = await browser.GetAsync($"/console/audit?type={AuditTypes.ConsoleSignedIn}");

        Assert.Contains($"<code>{AuditTypes.ConsoleSignedIn}</code>", body, StringComparison.Ordinal);
        Assert.DoesNotContain($"<code>{AuditTypes.TokenIssued}</code>", body, StringComparison.Ordinal);
        Assert.DoesNotContain("issued-event", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_since_shows_the_apis_message_with_400_and_is_audited()
    {
        await using var broker = await TestBroker.StartAsync();
        var browser = await AdminAsync(broker);

        var (response, body) = await browser.GetAsync("/console/audit?since=yesterday-ish");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("&#x27;since&#x27; must be an RFC 3339 time or a duration such as 1h.", body, StringComparison.Ordinal);
        Assert.Contains("value=\"yesterday-ish\"", body, StringComparison.Ordinal);
        await AuditAssert.RefusedOnceAsync(broker, AuditTypes.AdminDenied, RefusalCodes.AdminQueryInvalid);
    }

    [Fact]
    public async Task A_reason_carrying_markup_is_shown_encoded()
    {
        await using var broker = await TestBroker.StartAsync();
        await AppendAsync(broker, AuditTypes.TokenIssued, "support-agent", "<script>alert(1)</script> & <b>bold</b>");
        var browser = await AdminAsync(broker);

        var (_, body) = await browser.GetAsync("/console/audit");

        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;", body, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b>", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_full_page_links_to_the_next_with_the_filter_and_the_cursor()
    {
        await using var broker = await TestBroker.StartAsync();
        for (var i = 0; i < 60; i++)
        {
            await AppendAsync(broker, AuditTypes.TokenIssued, "support-agent", $"event-{i:D2}");
        }

        var browser = await AdminAsync(broker);
        var (_, first) = await browser.GetAsync("/console/audit?agent=support-agent");
        Assert.Contains("event-49", first, StringComparison.Ordinal);
        Assert.DoesNotContain("event-50", first, StringComparison.Ordinal);
        var next = System.Text.RegularExpressions.Regex.Match(first, "<a href=\"([^\"]+)\" rel=\"next\">Next</a>");
        Assert.True(next.Success);

        var (_, second) = await browser.GetAsync(WebUtility.HtmlDecode(next.Groups[1].Value));
        Assert.Contains("event-50", second, StringComparison.Ordinal);
        Assert.Contains("event-59", second, StringComparison.Ordinal);
        Assert.DoesNotContain("event-49", second, StringComparison.Ordinal);
        Assert.DoesNotContain("rel=\"next\"", second, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verifying_says_intact_and_after_a_stored_event_is_tampered_says_broken()
    {
        await using var broker = await TestBroker.StartAsync();
        await AppendAsync(broker, AuditTypes.TokenIssued, "support-agent", "to-be-tampered");
        var browser = await AdminAsync(broker);
        await browser.GetAsync("/console/audit");

        var (response, intact) = await browser.PostAsync("/console/audit/verify", []);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Matches("audit chain intact: \\d+ events verified, head hash [0-9a-f]{64}", intact);

        await using (var raw = new SqliteConnection($"Data Source={Path.Combine(broker.Directory, "data", "tessera.db")};Pooling=False"))
        {
            raw.Open();
            using var command = raw.CreateCommand();
            command.CommandText = "UPDATE audit_events SET agent = 'other-agent' WHERE seq = 1";
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        var (_, broken) = await browser.PostAsync("/console/audit/verify", []);
        Assert.Contains("audit chain broken at seq 1: column agent disagrees with the event", broken, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verifying_without_the_antiforgery_token_is_refused()
    {
        await using var broker = await TestBroker.StartAsync();
        var browser = await AdminAsync(broker);
        await browser.GetAsync("/console/audit");
        var (response, body) = await browser.PostAsync("/console/audit/verify", [], withFormToken: false);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain("audit chain", body, StringComparison.Ordinal);
        await AuditAssert.RefusedOnceAsync(broker, AuditTypes.AdminDenied, RefusalCodes.ConsoleFormInvalid);
    }

    [Fact]
    public async Task An_approver_is_refused_the_audit_page_and_its_link()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(idp.As(broker, "bob"));

        var (response, body) = await browser.GetAsync("/console/audit");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("admins only", body, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"/console/audit\"", body, StringComparison.Ordinal);
        await AuditAssert.RefusedOnceAsync(broker, AuditTypes.AdminDenied, RefusalCodes.AdminNotAdmin);
    }

    [Fact]
    public async Task A_read_is_audited_as_admin_read_naming_the_admin_and_the_route()
    {
        await using var broker = await TestBroker.StartAsync();
        var browser = await AdminAsync(broker);

        var (response, body) = await browser.GetAsync("/console/audit");

        Assert.Contains("frame-ancestors 'none'", Assert.Single(response.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
        Assert.Contains("href=\"/console/audit\"", body, StringComparison.Ordinal);
        var read = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.AdminRead);
        Assert.Equal("bootstrap-admin", read.Record.Principal);
        Assert.Equal("GET /console/audit", read.Record.Reason);
        Assert.DoesNotContain($"<code>{AuditTypes.AdminRead}</code>", body, StringComparison.Ordinal);
    }
}
