using Microsoft.Playwright;

namespace Tessera.Console.Tests;

/// <summary>The console's missions page in a real browser: an admin ends a mission with its "Revoke" button.</summary>
[Collection(ChromiumCollection.Name)]
[Trait("Speed", "Slow")] // a real browser
public sealed class ConsoleMissionsBrowserTests(Chromium chromium) : ConsolePageTest(chromium)
{
    [Fact]
    public async Task An_admin_revokes_a_mission_with_its_button_and_the_page_shows_it_revoked()
    {
        var missionId = await StartMissionAsync();
        await SignInAsync(Broker.AdminToken);

        await Page.GetByRole(AriaRole.Link, new() { Name = "Missions" }).ClickAsync();
        var mission = Page.Locator("section.approval").Filter(new() { HasText = missionId });
        Assert.Equal("active", await mission.Locator("span.status").TextContentAsync());
        Assert.True(await mission.GetByText("Triage ticket 4711").IsVisibleAsync());

        await mission.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        // Playwright's assertion waits for the page the form's redirect loads.
        await Assertions.Expect(mission.Locator("span.status")).ToHaveTextAsync("revoked");
        Assert.EndsWith("/console/missions", new Uri(Page.Url).AbsolutePath, StringComparison.Ordinal);
        Assert.Equal(0, await mission.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).CountAsync());
        Assert.Contains(await Broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.TokenRevoked && e.Record.Mission == missionId);
    }
}
