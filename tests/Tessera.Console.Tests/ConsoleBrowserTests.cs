using Microsoft.Playwright;

namespace Tessera.Console.Tests;

/// <summary>
/// The console in a real browser (headless Chromium through Playwright) against a broker on a real
/// loopback port: signing in and out, deciding an approval as a person would, and what the browser
/// itself enforces (the content security policy, the cookie's attributes, text that stays text).
/// </summary>
[Collection(ChromiumCollection.Name)]
[Trait("Speed", "Slow")] // a real browser
public sealed class ConsoleBrowserTests(Chromium chromium) : ConsolePageTest(chromium)
{
    /// <summary>The section of one approval: the one whose decision form posts to its id.</summary>
    private ILocator Approval(string id) =>
        Page.Locator("section.approval").Filter(new() { Has = Page.Locator($"form[action='/console/approvals/{Uri.EscapeDataString(id)}']") });

    /// <summary>The console's session cookie (the antiforgery cookie is another).</summary>
    private static bool IsSession(BrowserContextCookiesResult cookie) => cookie.Name.EndsWith("tessera-console", StringComparison.Ordinal);

    [Fact]
    public async Task An_admin_signs_in_with_the_admin_token_sees_the_agents_and_signs_out()
    {
        // Unauthenticated: the console sends the browser to the sign-in form.
        await Page.GotoAsync(Url("/console/agents"));
        Assert.EndsWith("/console/sign-in", new Uri(Page.Url).AbsolutePath, StringComparison.Ordinal);

        await SignInAsync(Broker.AdminToken);
        await Page.GotoAsync(Url("/console/agents"));
        Assert.True(await Page.GetByText(ApprovalBroker.Agent).First.IsVisibleAsync());

        // The session cookie: not readable by script, never sent cross-site, and not the token.
        var cookie = Assert.Single(await Context.CookiesAsync(), IsSession);
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.DoesNotContain(Broker.AdminToken, cookie.Value, StringComparison.Ordinal);

        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Page.GotoAsync(Url("/console/agents"));
        Assert.EndsWith("/console/sign-in", new Uri(Page.Url).AbsolutePath, StringComparison.Ordinal);
    }

    /// <summary>
    /// The pictures of docs/console.md, taken here so they show the console as it is: written to
    /// <c>TESSERA_CONSOLE_SCREENSHOTS</c> when set (the docs' images folder, by hand), else to a
    /// temporary folder, and checked to be PNG images either way.
    /// </summary>
    [Fact]
    public async Task The_screenshots_of_the_docs_show_sign_in_a_pending_approval_on_desktop_and_phone_agents_and_missions()
    {
        var folder = Environment.GetEnvironmentVariable("TESSERA_CONSOLE_SCREENSHOTS") is { Length: > 0 } configured
            ? configured
            : Directory.CreateTempSubdirectory("tessera-console-shots-").FullName;
        await Page.SetViewportSizeAsync(1000, 700);
        await Page.GotoAsync(Url("/console/sign-in"));
        var signIn = Path.Combine(folder, "console-sign-in.png");
        await Page.ScreenshotAsync(new() { Path = signIn });

        await Broker.RequestApprovalAsync(Idp, "crm:export", ("reason", "Export the March invoices for the auditors"));
        await SignInAsync(Idp.As(Broker, "bob"));
        await Page.GotoAsync(Url("/console/approvals"));
        var approvals = Path.Combine(folder, "console-approvals.png");
        await Page.ScreenshotAsync(new() { Path = approvals, FullPage = true });
        await Page.SetViewportSizeAsync(390, 844);
        var phone = Path.Combine(folder, "console-approvals-phone.png");
        await Page.ScreenshotAsync(new() { Path = phone, FullPage = true });

        await Page.SetViewportSizeAsync(1280, 700);
        await SignInAsync(Broker.AdminToken);
        await Page.GotoAsync(Url("/console/agents"));
        var agents = Path.Combine(folder, "console-agents.png");
        await Page.ScreenshotAsync(new() { Path = agents, FullPage = true });
        await StartMissionAsync();
        await Page.GotoAsync(Url("/console/missions"));
        var missions = Path.Combine(folder, "console-missions.png");
        await Page.ScreenshotAsync(new() { Path = missions, FullPage = true });

        foreach (var file in new[] { signIn, approvals, phone, agents, missions })
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.True(bytes.Length > 1000 && bytes.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), file);
        }
    }

    [Fact]
    public async Task A_wrong_token_is_refused_with_a_message_and_no_session()
    {
        await SignInAsync("not-a-token");

        Assert.True(await Page.GetByRole(AriaRole.Alert).IsVisibleAsync());
        Assert.DoesNotContain(await Context.CookiesAsync(), IsSession);
    }

    [Theory]
    [InlineData("Approve", "approved")]
    [InlineData("Deny", "denied")]
    public async Task An_approver_decides_with_a_comment_and_the_agents_poll_sees_it(string button, string outcome)
    {
        var id = await Broker.RequestApprovalAsync(Idp);
        await SignInAsync(Idp.As(Broker, "bob"));
        await Page.GotoAsync(Url("/console/approvals"));

        var approval = Approval(id);
        await approval.GetByLabel("Comment").FillAsync($"{outcome} from the browser");
        await approval.GetByRole(AriaRole.Button, new() { Name = button }).ClickAsync();

        Broker.Time.Advance(ApprovalBroker.Interval);
        using var poll = await Broker.PollAsync(id);
        if (outcome == "approved")
        {
            await OAuthAssert.TokenAsync(poll);
        }
        else
        {
            await OAuthAssert.ErrorAsync(poll, HttpStatusCode.BadRequest, "access_denied");
        }

        var decided = (await Broker.AuditEventsAsync()).Last(e => e.Record.Type == $"approval.{outcome}");
        Assert.Contains($"{outcome} from the browser", decided.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reason_carrying_html_and_script_is_shown_as_text_and_never_runs()
    {
        const string Hostile = "<script>document.title='pwned'</script><b id=\"injected\">bold</b>";
        var id = await Broker.RequestApprovalAsync(Idp, "crm:export", ("reason", Hostile));
        var dialogs = 0;
        Page.Dialog += (_, _) => dialogs++;
        await SignInAsync(Broker.AdminToken);
        await Page.GotoAsync(Url("/console/approvals"));

        var approval = Approval(id);
        Assert.Contains(Hostile, await approval.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await Page.Locator("#injected").CountAsync());
        Assert.NotEqual("pwned", await Page.TitleAsync());
        Assert.Equal(0, dialogs);
    }

    [Fact]
    public async Task Every_console_page_sends_a_strict_content_security_policy_and_refuses_framing()
    {
        await SignInAsync(Broker.AdminToken);
        foreach (var path in new[] { "/console/sign-in", "/console/agents", "/console/approvals" })
        {
            var response = await Page.GotoAsync(Url(path));
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
        var id = await Broker.RequestApprovalAsync(Idp);
        await SignInAsync(Idp.As(Broker, "bob"));

        // The browser's own session cookie, but a form made elsewhere: no antiforgery token.
        var response = await Context.APIRequest.PostAsync(Url($"/console/approvals/{id}"), new()
        {
            Form = Context.APIRequest.CreateFormData().Set("decision", "approve").Set("comment", "forged"),
        });

        Assert.Equal(400, response.Status);
        Broker.Time.Advance(ApprovalBroker.Interval);
        using var poll = await Broker.PollAsync(id);
        await OAuthAssert.ErrorAsync(poll, HttpStatusCode.BadRequest, "authorization_pending");
    }
}
