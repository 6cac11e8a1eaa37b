using Microsoft.Playwright;

namespace Tessera.Console.Tests;

/// <summary>
/// One headless Chromium for the console's browser tests: Debian's <c>chromium</c> package (or the
/// executable in <c>TESSERA_TEST_CHROMIUM</c>), driven by Microsoft.Playwright. No silent skip: when
/// no browser is installed, starting the fixture fails, and with it every test, saying what to install.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var executable = Find() ?? throw new InvalidOperationException(
            "The console's browser tests need Chromium: none was found in TESSERA_TEST_CHROMIUM, /usr/bin/chromium or on PATH. Install it (Debian: apt-get install -y chromium).");
        _playwright = await Playwright.CreateAsync();

        // Chromium's sandbox refuses to run as root (CI runs as root); elsewhere it stays on.
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args = Environment.IsPrivilegedProcess ? ["--no-sandbox"] : [],
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("TESSERA_TEST_CHROMIUM") is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? configured : null;
        }

        if (File.Exists("/usr/bin/chromium"))
        {
            return "/usr/bin/chromium";
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, "chromium"))
            .FirstOrDefault(File.Exists);
    }
}

[CollectionDefinition(Name)]
public sealed class ChromiumCollection : ICollectionFixture<Chromium>
{
    public const string Name = "chromium";
}
