using Microsoft.Playwright;

namespace Tessera.Console.Tests;

/// <summary>
/// The console in a real browser (headless Chromium through Playwright) against a broker on a real
/// loopback port: signing in and out, deciding an approval as a person would, and what the browser
/// itself enforces (the content security policy, the cookie's attributes, text that stays text).
/// </summary>
[Collection(ChromiumCollection.Name)]
[Trait("Speed", "Slow")] // a real browser
public sealed class ConsoleBrowserTests(Chromium chromium) : IAsyncLifetime
{
    private TestBroker _broker = null!;
    private TestIdp _idp = null!;
    private IBrowserContext _context = null!;
    private IPage _page = null!;

    private string Url(string path) => new Uri(_broker.Address!, path).AbsoluteUri;

    public async ValueTask InitializeAsync()
    {
        (_broker, _idp) = await ApprovalBroker.StartAsync(realHttp: true);
        _context = await chromium.Browser.NewContextAsync();
        _page = await _context.NewPageAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _context.DisposeAsync();
        await _broker.DisposeAsync();
    }

    /// <summary>The section of one approval: the one whose decision form posts to its id.</summary>
    private ILocator Approval(string id) =>
        _page.Locator("section.approval").Filter(new() { Has = _page.Locator($"form[action='/console/approvals/{Uri.EscapeDataString(id)}']") });

    /// <summary>The console's session cookie (the antiforgery cookie is another).</summary>
    private static bool IsSession(BrowserContextCookiesResult cookie) => cookie.Name.EndsWith("tessera-console", StringComparison.Ordinal);

    private async Task SignInAsync(string token)
    {
        await _page.GotoAsync(Url("/console/sign-in"));
        await _page.GetByLabel("Admin token").FillAsync(token);
        await _page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    [Fact]
    public async Task An_admin_signs_in_with_the_admin_token_sees_the_agents_and_signs_out()
    {
        // Unauthenticated: the console sends the browser to the sign-in form.
        await _page.GotoAsync(Url("/console/agents"));
        Assert.EndsWith("/console/sign-in", new Uri(_page.Url).AbsolutePath, StringComparison.Ordinal);

        await SignInAsync(_broker.AdminToken);
        await _page.GotoAsync(Url("/console/agents"));
        Assert.True(await _page.GetByText(ApprovalBroker.Agent).First.IsVisibleAsync());

        // The session cookie: not readable by script, never sent cross-site, and not the token.
        var cookie = Assert.Single(await _context.CookiesAsync(), IsSession);
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.DoesNotContain(_broker.AdminToken, cookie.Value, StringComparison.Ordinal);

        await _page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await _page.GotoAsync(Url("/console/agents"));
        Assert.EndsWith("/console/sign-in", new Uri(_page.Url).AbsolutePath, StringComparison.Ordinal);
    }

    /// <summary>
    /// The pictures of docs/console.md, taken here so they show the console as it is: written to
    /// <c>TESSERA_CONSOLE_SCREENSHOTS</c> when set (the docs' images folder, by hand), else to a
    /// temporary folder, and checked to be PNG images either way.
    /// </summary>
    [Fact]
    public async Task The_screenshots_of_the_docs_show_the_sign_in_form_and_a_pending_approval()
    {
        var folder = Environment.GetEnvironmentVariable("TESSERA_CONSOLE_SCREENSHOTS") is { Length: > 0 } configured
            ? configured
            : Directory.CreateTempSubdirectory("tessera-console-shots-").FullName;
        await _page.SetViewportSizeAsync(1000, 700);
        await _page.GotoAsync(Url("/console/sign-in"));
        var signIn = Path.Combine(folder, "console-sign-in.png");
        await _page.ScreenshotAsync(new() { Path = signIn });

        await _broker.RequestApprovalAsync(_idp, "crm:export", ("reason", "Export the March invoices for the auditors"));
        await SignInAsync(_idp.As(_broker, "bob"));
        await _page.GotoAsync(Url("/console/approvals"));
        var approvals = Path.Combine(folder, "console-approvals.png");
        await _page.ScreenshotAsync(new() { Path = approvals, FullPage = true });

        foreach (var file in new[] { signIn, approvals })
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.True(bytes.Length > 1000 && bytes.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), file);
        }
    }

    [Fact]
    public async Task A_wrong_token_is_refused_with_a_message_and_no_session()
    {
        await SignInAsync("not-a-token");

        Assert.True(await _page.GetByRole(AriaRole.Alert).IsVisibleAsync());
        Assert.DoesNotContain(await _context.CookiesAsync(), IsSession);
    }

    [Theory]
    [InlineData("Approve", "approved")]
    [InlineData("Deny", "denied")]
    public async Task An_approver_decides_with_a_comment_and_the_agents_poll_sees_it(string button, string outcome)
    {
        var id = await _broker.RequestApprovalAsync(_idp);
        await SignInAsync(_idp.As(_broker, "bob"));
        await _page.GotoAsync(Url("/console/approvals"));

        var approval = Approval(id);
        await approval.GetByLabel("Comment").FillAsync($"{outcome} from the browser");
        await approval.GetByRole(AriaRole.Button, new() { Name = button }).ClickAsync();

        _broker.Time.Advance(ApprovalBroker.Interval);
        using var poll = await _broker.PollAsync(id);
        if (outcome == "approved")
        {
            await OAuthAssert.TokenAsync(poll);
        }
        else
        {
            await OAuthAssert.ErrorAsync(poll, HttpStatusCode.BadRequest, "access_denied");
        }

        var decided = (await _broker.AuditEventsAsync()).Last(e => e.Record.Type == $"approval.{outcome}");
        Assert.Contains($"{outcome} from the browser", decided.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reason_carrying_html_and_script_is_shown_as_text_and_never_runs()
    {
        const string Hostile = "<script>document.title='pwned'</script><b id=\"injected\">bold</b>";
        var id = await _broker.RequestApprovalAsync(_idp, "crm:export", ("reason", Hostile));
        var dialogs = 0;
        _page.Dialog += (_, _) => dialogs++;
        await SignInAsync(_broker.AdminToken);
        await _page.GotoAsync(Url("/console/approvals"));

        var approval = Approval(id);
        Assert.Contains(Hostile, await approval.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await _page.Locator("#injected").CountAsync());
        Assert.NotEqual("pwned", await _page.TitleAsync());
        Assert.Equal(0, dialogs);
    }

    [Fact]
    public async Task Every_console_page_sends_a_strict_content_security_policy_and_refuses_framing()
    {
        await SignInAsync(_broker.AdminToken);
        foreach (var path in new[] { "/console/sign-in", "/console/agents", "/console/approvals" })
        {
            var response = await _page.GotoAsync(Url(path));
            var headers = await response!.AllHeadersAsync();
            var csp = headers["content-security-policy"];
            Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
            Assert.Equal("DENY", headers["x-frame-options"]);
        }
    }

    [Fact]
    public async Task A_form_post_without_the_antiforgery_token_is_refused_and_changes_nothing()
    {
        var id = await _broker.RequestApprovalAsync(_idp);
        await SignInAsync(_idp.As(_broker, "bob"));

        // The browser's own session cookie, but a form made elsewhere: no antiforgery token.
        var response = await _context.APIRequest.PostAsync(Url($"/console/approvals/{id}"), new()
        {
            Form = _context.APIRequest.CreateFormData().Set("decision", "approve").Set("comment", "forged"),
        });

        Assert.Equal(400, response.Status);
        _broker.Time.Advance(ApprovalBroker.Interval);
        using var poll = await _broker.PollAsync(id);
        await OAuthAssert.ErrorAsync(poll, HttpStatusCode.BadRequest, "authorization_pending");
    }
}
