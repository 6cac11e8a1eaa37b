using Microsoft.Playwright;

namespace Tessera.Console.Tests;

/// <summary>
/// The console used as people with other means use it: with the keyboard alone, with assistive
/// technology that needs a name for every control, and on a phone's narrow screen.
/// </summary>
[Collection(ChromiumCollection.Name)]
[Trait("Speed", "Slow")] // a real browser
public sealed class ConsoleUsabilityBrowserTests(Chromium chromium) : ConsolePageTest(chromium)
{
    private static readonly string[] AdminPages = ["/console/agents", "/console/approvals", "/console/missions", "/console/audit", "/console/posture"];

    /// <summary>What the keyboard can reach: links, buttons, fields and the focusable table regions.</summary>
    private const string Controls = "a[href], button, input:not([type=hidden]), textarea, select, [tabindex='0']";

    [Fact]
    public async Task An_approver_signs_in_and_approves_with_the_keyboard_alone()
    {
        var id = await Broker.RequestApprovalAsync(Idp);
        await Page.GotoAsync(Url("/console/sign-in"));

        // The token field has the focus on arrival; typing and Enter sign in.
        Assert.Equal("token", await Page.EvaluateAsync<string>("document.activeElement.id"));
        await Page.Keyboard.InsertTextAsync(Idp.As(Broker, "bob"));
        await Page.Keyboard.PressAsync("Enter");
        await Page.ArriveAtAsync(Url("/console/approvals"));

        // Tab to the approval's comment, type, Tab to "Approve", Enter.
        await TabUntilAsync($"c-{id}");
        await Page.Keyboard.InsertTextAsync("approved without a mouse");
        await Page.Keyboard.PressAsync("Tab");
        Assert.Equal("Approve", await Page.EvaluateAsync<string>("document.activeElement.textContent.trim()"));
        await Page.Keyboard.PressAsync("Enter");

        // Decided: the page comes back without it.
        await Page.Locator($"[id='c-{id}']").WaitForAsync(new() { State = WaitForSelectorState.Detached });
        var approved = Assert.Single(await Broker.AuditEventsAsync(), e => e.Record.Type == "approval.approved");
        Assert.Contains("approved without a mouse", approved.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_control_on_every_page_has_a_name_and_the_tab_key_reaches_it()
    {
        await Broker.RequestApprovalAsync(Idp);
        await StartMissionAsync();
        await Page.GotoAsync(Url("/console/sign-in"));
        await AssertNamedAndReachableAsync("/console/sign-in");
        await SignInAsync(Broker.AdminToken);
        foreach (var path in AdminPages)
        {
            await Page.GotoAsync(Url(path));
            await AssertNamedAndReachableAsync(path);
        }
    }

    [Fact]
    public async Task At_phone_width_no_page_scrolls_sideways_and_every_button_is_on_screen()
    {
        await Broker.RequestApprovalAsync(Idp, "crm:export", ("reason", "Export every contact of the EMEA region for the quarterly review " + new string('x', 200)));
        await StartMissionAsync();
        await Page.SetViewportSizeAsync(360, 740);
        await Page.GotoAsync(Url("/console/sign-in"));
        await AssertFitsAsync("/console/sign-in");
        await SignInAsync(Broker.AdminToken);
        foreach (var path in AdminPages)
        {
            await Page.GotoAsync(Url(path));
            await AssertFitsAsync(path);
        }
    }

    private async Task TabUntilAsync(string elementId)
    {
        for (var i = 0; i < 50; i++)
        {
            await Page.Keyboard.PressAsync("Tab");
            if (await Page.EvaluateAsync<string>("document.activeElement.id") == elementId)
            {
                return;
            }
        }

        Assert.Fail($"Tab never reached #{elementId}");
    }

    /// <summary>Every control has an accessible name, and pressing Tab from the top visits each one.</summary>
    private async Task AssertNamedAndReachableAsync(string path)
    {
        var controls = Page.Locator(Controls);
        var count = await controls.CountAsync();
        Assert.True(count > 0, path);
        for (var i = 0; i < count; i++)
        {
            var control = controls.Nth(i);
            var name = await control.EvaluateAsync<string>("""
                e => (e.labels && e.labels.length ? [...e.labels].map(l => l.textContent).join(' ') : '')
                     || e.getAttribute('aria-label') || (e.getAttribute('aria-labelledby') ? document.getElementById(e.getAttribute('aria-labelledby'))?.textContent : '')
                     || e.textContent || e.value || ''
                """);
            Assert.False(string.IsNullOrWhiteSpace(name), $"{path}: control {i} ({await control.EvaluateAsync<string>("e => e.outerHTML.slice(0, 120)")}) has no accessible name");
        }

        await Page.EvaluateAsync($"document.querySelectorAll(\"{Controls}\").forEach((e, i) => e.dataset.kbd = i)");
        await Page.EvaluateAsync("document.activeElement.blur()");
        var reached = new HashSet<string>();
        for (var i = 0; i < count + 5; i++)
        {
            await Page.Keyboard.PressAsync("Tab");
            if (await Page.EvaluateAsync<string?>("document.activeElement.dataset.kbd ?? null") is { } index)
            {
                reached.Add(index);
            }
        }

        var missed = Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Where(i => !reached.Contains(i)).ToList();
        Assert.True(missed.Count == 0, $"{path}: Tab never reaches controls {string.Join(", ", missed)} of {count}");
    }

    /// <summary>The page is no wider than the screen, and every button lies within it.</summary>
    private async Task AssertFitsAsync(string path)
    {
        var (scrollWidth, innerWidth) = (await Page.EvaluateAsync<int>("document.documentElement.scrollWidth"), await Page.EvaluateAsync<int>("window.innerWidth"));
        Assert.True(scrollWidth <= innerWidth, $"{path}: the page is {scrollWidth} px wide on a {innerWidth} px screen");
        var buttons = Page.Locator("button");
        for (var i = 0; i < await buttons.CountAsync(); i++)
        {
            var box = await buttons.Nth(i).BoundingBoxAsync();
            Assert.True(box is not null && box.X >= 0 && box.X + box.Width <= innerWidth, $"{path}: button {i} lies outside the screen ({box?.X}+{box?.Width})");
        }
    }
}
