using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Tessera.Console.Tests;

/// <summary>The console's audit page in a real browser: its filter form used as a person would.</summary>
[Collection(ChromiumCollection.Name)]
[Trait("Speed", "Slow")] // a real browser
public sealed class ConsoleAuditBrowserTests(Chromium chromium) : ConsolePageTest(chromium)
{
    [Fact]
    public async Task Filtering_by_type_through_the_form_shows_only_matching_rows()
    {
        await Broker.Service<AuditLog>().AppendAsync(new AuditRecord { Type = AuditTypes.TokenIssued, Outcome = AuditOutcomes.Allowed, Agent = ApprovalBroker.Agent });
        await SignInAsync(Broker.AdminToken);
        await Page.GetByRole(AriaRole.Link, new() { Name = "Audit" }).ClickAsync();
        await Page.ArriveAtAsync(new Regex("/console/audit$"));
        Assert.True(await Page.Locator("tbody tr").Filter(new() { HasText = AuditTypes.TokenIssued }).CountAsync() > 0);

        await Page.GetByLabel("Type").FillAsync(AuditTypes.ConsoleSignedIn);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Page.ArriveAtAsync(new Regex(@"/console/audit\?.*type=console\.signed_in"));

        var types = await Page.Locator("tbody tr td:nth-of-type(2)").AllInnerTextsAsync();
        Assert.NotEmpty(types);
        Assert.All(types, t => Assert.Equal(AuditTypes.ConsoleSignedIn, t));
    }
}
