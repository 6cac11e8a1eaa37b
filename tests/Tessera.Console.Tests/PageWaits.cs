using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Tessera.Console.Tests;

/// <summary>
/// Waiting for the browser to arrive at a page, and saying where it is instead when it does not.
/// Not <c>WaitForURLAsync</c>: when a navigation (here the meta refresh after an OpenID Connect
/// sign-in) commits between its check of the current URL and its wait for the next navigation, it
/// waits for a navigation that already happened and times out on a browser that has arrived (seen
/// under load: URL matching, document complete, 30 s timeout). The URL assertion polls instead.
/// </summary>
public static class PageWaits
{
    private const float Timeout = 30_000;

    public static Task ArriveAtAsync(this IPage page, string url) =>
        ArriveAsync(page, url, () => Assertions.Expect(page).ToHaveURLAsync(url, new() { Timeout = Timeout }));

    public static Task ArriveAtAsync(this IPage page, Regex url) =>
        ArriveAsync(page, url.ToString(), () => Assertions.Expect(page).ToHaveURLAsync(url, new() { Timeout = Timeout }));

    private static async Task ArriveAsync(IPage page, string expected, Func<Task> urlMatches)
    {
        try
        {
            await urlMatches();
        }
        catch (PlaywrightException e)
        {
            string text;
            try
            {
                text = await page.Locator("body").InnerTextAsync(new() { Timeout = 2_000 });
            }
            catch (PlaywrightException read)
            {
                text = $"(unreadable: {read.Message})";
            }

            throw new TimeoutException($"The browser did not arrive at {expected}; it is at {page.Url}, showing: {text[..Math.Min(text.Length, 600)]}", e);
        }

        await page.WaitForLoadStateAsync(LoadState.Load);
    }
}
