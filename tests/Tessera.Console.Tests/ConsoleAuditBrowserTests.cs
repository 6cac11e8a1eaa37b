using Microsoft.Playwright;

namespace Tessera.Console.Tests;

/// <summary>The console's audit page in a real browser: its filter form used as a person would.</summary>
[Collection(ChromiumCollection.Name)]
[Trait("Speed", "Slow")] // a real browser
public sealed class ConsoleAuditBrowserTests(Chromium chromium) : IAsyncLifetime
{
    private TestBroker _broker = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;

    private string Url(string path) => new Uri(_broker.Address!, path).AbsoluteUri;

    public async ValueTask InitializeAsync()
    {
        (_broker, _) = await ApprovalBroker.StartAsync(realHttp: true);
        _context = await chromium.Browser.NewContextAsync();
        _page = await _context.NewPageAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _context.DisposeAsync();
        await _broker.DisposeAsync();
    }

    [Fact]
    public async Task Filtering_by_type_through_the_form_shows_only_matching_rows()
    {
        await _broker.Service<AuditLog>().AppendAsync(new AuditRecord { Type = AuditTypes.TokenIssued, Outcome = AuditOutcomes.Allowed, Agent = ApprovalBroker.Agent });
        await _page.GotoAsync(Url("/console/sign-in"));
        await _page.GetByLabel("Admin token").FillAsync(_broker.AdminToken);
        await _page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await _page.GetByRole(AriaRole.Link, new() { Name = "Audit" }).ClickAsync();
        await _page.WaitForURLAsync("**/console/audit");
        Assert.True(await _page.Locator("tbody tr").Filter(new() { HasText = AuditTypes.TokenIssued }).CountAsync() > 0);

        await _page.GetByLabel("Type").FillAsync(AuditTypes.ConsoleSignedIn);
        await _page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await _page.WaitForURLAsync("**/console/audit?*type=console.signed_in*");

        var types = await _page.Locator("tbody tr td:nth-of-type(2)").AllInnerTextsAsync();
        Assert.NotEmpty(types);
        Assert.All(types, t => Assert.Equal(AuditTypes.ConsoleSignedIn, t));
    }
}
