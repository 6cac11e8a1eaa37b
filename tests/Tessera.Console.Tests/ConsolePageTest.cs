using Microsoft.Playwright;

namespace Tessera.Console.Tests;

/// <summary>
/// What every browser test of the console starts from: a broker with approvals and an identity
/// provider on a real loopback port, and a fresh browser context (no cookies) with one page.
/// </summary>
public abstract class ConsolePageTest(Chromium chromium) : IAsyncLifetime
{
    protected TestBroker Broker { get; private set; } = null!;
    protected TestIdp Idp { get; private set; } = null!;
    protected IBrowserContext Context { get; private set; } = null!;
    protected IPage Page { get; private set; } = null!;

    protected string Url(string path) => new Uri(Broker.Address!, path).AbsoluteUri;

    public async ValueTask InitializeAsync()
    {
        (Broker, Idp) = await ApprovalBroker.StartAsync(realHttp: true);
        Context = await chromium.Browser.NewContextAsync();
        Page = await Context.NewPageAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Context.DisposeAsync();
        await Broker.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>Signs in through the form, as a person pastes a token into "Admin token".</summary>
    protected async Task SignInAsync(string token)
    {
        await Page.GotoAsync(Url("/console/sign-in"));
        await Page.GetByLabel("Admin token").FillAsync(token);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    /// <summary>support-agent exchanges alice's token without a resource: a mission token; returns the mission's id.</summary>
    protected async Task<string> StartMissionAsync()
    {
        using var response = await Broker.PostFormAsync("/oauth/token",
        [
            new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            new("subject_token", Idp.Mint("alice", Broker.Time.GetUtcNow())),
            new("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            new("scope", "crm:read"),
            new("purpose", "Triage ticket 4711"),
        ], TestBroker.Basic(ApprovalBroker.Agent, ApprovalBroker.Secret));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        using var json = JsonDocument.Parse(body);
        var token = json.RootElement.GetProperty("access_token").GetString()!;
        using var claims = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[1]));
        return claims.RootElement.GetProperty("mission").GetString()!;
    }
}
