using Microsoft.Playwright;

namespace Tessera.Console.Tests;

/// <summary>
/// Signing in through OpenID Connect in a real browser: the console, the identity provider and back,
/// with the browser's own cookie rules (the session cookie is SameSite=Strict, and the way back from
/// the provider begins on another site).
/// </summary>
[Collection(ChromiumCollection.Name)]
[Trait("Speed", "Slow")] // a real browser
public sealed class ConsoleOidcBrowserTests(Chromium chromium)
{
    [Theory]
    [InlineData("carol", "/console/agents", "admin")]
    [InlineData("bob", "/console/approvals", "approver")]
    public async Task A_person_signs_in_with_the_identity_provider_and_lands_on_their_page(string sub, string landing, string role)
    {
        var (broker, provider) = await OidcConsoleBroker.StartAsync();
        await using var _ = broker;
        await using var __ = provider;
        provider.Subject = sub;
        await using var context = await chromium.Browser.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync(new Uri(broker.Address!, "/console/sign-in").AbsoluteUri);
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with sso" }).ClickAsync();
        await page.ArriveAtAsync(new Uri(broker.Address!, landing).AbsoluteUri);

        Assert.Contains($"Signed in as sso:{sub} ({role})", await page.Locator("header").InnerTextAsync(), StringComparison.Ordinal);
        var session = Assert.Single(await context.CookiesAsync(), c => c.Name.EndsWith("tessera-console", StringComparison.Ordinal));
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
        Assert.Contains(await broker.AuditEventsAsync(), e => e.Record.Type == AuditTypes.ConsoleSignedIn && e.Record.Principal == $"sso:{sub}");
    }
}
