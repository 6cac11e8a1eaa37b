using System.Net;
using System.Text.Encodings.Web;
using Tessera.Core.Audit;
using Tessera.Core.Posture;
using Tessera.Core.Protocol;

namespace Tessera.Server.Tests.Console;

/// <summary>The console's missions and posture pages (ConsoleMissionEndpoints).</summary>
public sealed class ConsoleMissionsTests
{
    [Fact]
    public async Task Revoking_a_mission_from_its_form_kills_its_tokens_and_is_audited_with_the_admins_name()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var _ = broker;
        var mission = await broker.ExchangeOkAsync("agent-a", idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read"), purpose: "Triage ticket 4711");
        var tool = await broker.ExchangeOkAsync("agent-a", mission, "urn:tessera:tool:crm");
        var missionId = DelegationBroker.Claims(mission).GetProperty("mission").GetString()!;
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(idp.As(broker, "carol"));

        var (page, body) = await browser.GetAsync("/console/missions");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains(missionId, body, StringComparison.Ordinal);
        Assert.Contains("Triage ticket 4711", body, StringComparison.Ordinal);
        Assert.Contains("corp:alice", body, StringComparison.Ordinal);
        Assert.Contains("every token issued under the mission (2 so far) and every database lease issued under them", body, StringComparison.Ordinal);
        Assert.Contains($"action=\"/console/missions/{missionId}/revoke\"", body, StringComparison.Ordinal);

        var (revoke, _) = await browser.PostAsync($"/console/missions/{missionId}/revoke", []);
        Assert.Equal(HttpStatusCode.SeeOther, revoke.StatusCode);
        Assert.Equal("/console/missions", revoke.Headers.Location!.OriginalString);
        Assert.Equal("""{"active":false}""", (await broker.IntrospectAsync(tool)).GetRawText());
        Assert.Equal("""{"active":false}""", (await broker.IntrospectAsync(mission)).GetRawText());

        var revoked = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.TokenRevoked);
        Assert.Equal(missionId, revoked.Record.Mission);
        Assert.Contains($"mission {missionId} revoked by corp:carol", revoked.Record.Reason, StringComparison.Ordinal);

        var (after, afterBody) = await browser.GetAsync("/console/missions");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Contains("<dt>Status</dt><dd>revoked</dd>", afterBody, StringComparison.Ordinal);
        Assert.DoesNotContain("/revoke\"", afterBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_revoke_posted_without_the_antiforgery_token_is_refused_and_revokes_nothing()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var _ = broker;
        var mission = await broker.ExchangeOkAsync("agent-a", idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read"));
        var missionId = DelegationBroker.Claims(mission).GetProperty("mission").GetString()!;
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);
        await browser.GetAsync("/console/missions");

        var (response, _) = await browser.PostAsync($"/console/missions/{missionId}/revoke", [], withFormToken: false);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await broker.IntrospectAsync(mission)).GetProperty("active").GetBoolean());
        Assert.DoesNotContain(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.TokenRevoked);
        await AuditAssert.RefusedOnceAsync(broker, AuditTypes.AdminDenied, RefusalCodes.ConsoleFormInvalid);
    }

    [Fact]
    public async Task Revoking_an_unknown_mission_is_refused_and_audited()
    {
        var (broker, _) = await DelegationBroker.StartAsync();
        await using var owner = broker;
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);
        await browser.GetAsync("/console/missions");

        var (response, body) = await browser.PostAsync("/console/missions/no-such-mission/revoke", []);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("No such mission is known.", body, StringComparison.Ordinal);
        Assert.DoesNotContain(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.TokenRevoked);
        await AuditAssert.RefusedOnceAsync(broker, AuditTypes.AdminDenied, RefusalCodes.AdminMissionUnknown);
    }

    [Fact]
    public async Task An_approver_gets_403_on_the_missions_and_posture_pages_and_cannot_revoke()
    {
        var (broker, idp) = await ApprovalBroker.StartAsync();
        await using var _ = broker;
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(idp.As(broker, "bob"));

        var (missions, missionsBody) = await browser.GetAsync("/console/missions");
        Assert.Equal(HttpStatusCode.Forbidden, missions.StatusCode);
        Assert.Contains("admins only", missionsBody, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"/console/missions\"", missionsBody, StringComparison.Ordinal);

        var (posture, postureBody) = await browser.GetAsync("/console/posture");
        Assert.Equal(HttpStatusCode.Forbidden, posture.StatusCode);
        Assert.DoesNotContain("Findings", postureBody, StringComparison.Ordinal);

        var (revoke, _) = await browser.PostAsync("/console/missions/any/revoke", []);
        Assert.Equal(HttpStatusCode.Forbidden, revoke.StatusCode);
        Assert.DoesNotContain(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.TokenRevoked);
    }

    [Fact]
    public async Task The_posture_page_shows_the_findings_and_each_agents_reach()
    {
        await using var broker = await TestBroker.StartAsync();
        var report = await broker.Service<PostureService>().ReportAsync(CancellationToken.None);
        var finding = report.Findings[0];
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);

        var (response, body) = await browser.GetAsync("/console/posture");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"<code>{finding.Type}</code>", body, StringComparison.Ordinal);
        Assert.Contains(HtmlEncoder.Default.Encode(finding.Evidence), body, StringComparison.Ordinal);
        Assert.Contains(HtmlEncoder.Default.Encode(finding.Recommendation), body, StringComparison.Ordinal);
        Assert.Contains($"<code>{report.Agents[0].Id}</code>", body, StringComparison.Ordinal);
        Assert.Contains("href=\"/console/posture\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_purpose_carrying_html_is_shown_as_text()
    {
        var (broker, idp) = await DelegationBroker.StartAsync();
        await using var _ = broker;
        await broker.ExchangeOkAsync("agent-a", idp.Mint("alice", broker.Time.GetUtcNow(), scope: "crm:read"), purpose: "<script>alert(1)</script><b>bold</b>");
        var browser = new ConsoleBrowser(broker);
        await browser.SignInAsync(broker.AdminToken);

        var (response, body) = await browser.GetAsync("/console/missions");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;", body, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b>", body, StringComparison.Ordinal);
    }
}
