using System.Globalization;

namespace Tessera.Cli.Tests;

/// <summary>
/// <c>tessera audit query</c> against a real broker: text a caller chose reaches the audit log (an
/// unauthenticated <c>client_id</c> is recorded as the agent it claimed to be), and must not forge
/// lines, drive the terminal or reorder what the operator reads.
/// </summary>
[Collection("Console")]
public sealed class AuditQueryCommandTests
{
    /// <summary>A newline followed by a forged event line, an ESC sequence that erases the line, and a right-to-left override.</summary>
    private const string HostileClientId = "evil\n99  2026-11-29T12:00:00.000Z  token.issued allowed  agent=support-agent\u001b[2K\u001b[1A\u202eexploit";

    [Fact]
    public async Task A_hostile_client_id_prints_as_one_line_with_visible_escapes()
    {
        await using var broker = await CliBroker.StartAsync();
        using (var refused = await broker.RequestTokenAsync(HostileClientId, "wrong-secret"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("audit", "query", "--config", broker.ConfigPath);
        var (_, json, _) = await TesseraCli.RunAsync("audit", "query", "--config", broker.ConfigPath, "--json");

        Assert.True(exit == 0, stderr);
        var lines = TesseraCli.Lines(stdout);
        var events = TesseraCli.Lines(json);

        // One line per event (the second query also sees the first one's admin.read), every line an event's own.
        Assert.Equal(events.Length - 1, lines.Length);
        Assert.All(lines, (line, i) => Assert.StartsWith((i + 1).ToString(CultureInfo.InvariantCulture) + "  ", line, StringComparison.Ordinal));
        var hostile = Assert.Single(lines, l => l.Contains("agent=evil", StringComparison.Ordinal));
        Assert.Contains("agent=evil\\n99  2026-11-29T12:00:00.000Z  token.issued allowed  agent=support-agent\\x1b[2K\\x1b[1A\\u202eexploit", hostile, StringComparison.Ordinal);
        AssertNothingHidden(stdout);
    }

    [Fact]
    public async Task With_json_the_hostile_client_id_is_exact_json_with_nothing_hidden_on_the_line()
    {
        await using var broker = await CliBroker.StartAsync();
        using (await broker.RequestTokenAsync(HostileClientId, "wrong-secret"))
        {
        }

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("audit", "query", "--config", broker.ConfigPath, "--json");

        Assert.True(exit == 0, stderr);
        var agents = TesseraCli.Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement).Select(e => e.TryGetProperty("agent", out var a) ? a.GetString() : null);
        Assert.Contains(HostileClientId, agents);
        Assert.Contains("\\u202E", stdout, StringComparison.Ordinal);
        AssertNothingHidden(stdout);
    }

    [Fact]
    public async Task A_server_message_that_echoes_hostile_input_prints_as_one_line_with_visible_escapes()
    {
        await using var broker = await CliBroker.StartAsync();

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("agent", "suspend", "ghost\n\u001b]0;pwned\u0007\u202e", "--config", broker.ConfigPath);

        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.Equal("Tessera refused (404): No agent 'ghost\\n\\x1b]0;pwned\\x07\\u202e' is configured.\n", stderr);
    }

    /// <summary>Only line breaks between lines: no control, format or separator character anywhere else.</summary>
    private static void AssertNothingHidden(string output)
    {
        foreach (var line in TesseraCli.Lines(output))
        {
            Assert.True(Core.Protocol.DisplayText.IsDisplayable(line, int.MaxValue), line);
        }
    }
}
