using System.Security.Cryptography;
using Tessera.Core.Configuration;

namespace Tessera.Cli.Tests;

/// <summary>
/// <c>tessera reload</c> against a real broker that reads its file again: what a reload changed, and
/// each kind of refusal with its own exit code, the running configuration untouched.
/// </summary>
[Collection("Console")]
public sealed class ReloadCommandTests
{
    private const string NewAgent = "billing-agent";
    private const string NewAgentSecret = "billing-secret-0123456789abcdef";

    private static string NewAgentYaml => $$"""

          - id: {{NewAgent}}
            owner: billing@corp.example
            purpose: Send invoices
            expires: 2027-06-30
            auth:
              client_secret_sha256: {{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(NewAgentSecret)))}}
            allowed_scopes: [ "crm:read" ]
        """;

    private static string HashOf(string path) => ConfigLoader.HashOf(File.ReadAllBytes(path));

    [Fact]
    public async Task A_reload_prints_the_new_and_the_previous_hash_and_each_change_and_the_added_agent_gets_a_token()
    {
        await using var broker = await CliBroker.StartAsync();
        var previous = HashOf(broker.ServerConfigPath);
        using (var before = await broker.RequestTokenAsync(NewAgent, NewAgentSecret))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, before.StatusCode);
        }

        await File.AppendAllTextAsync(broker.ServerConfigPath, NewAgentYaml);
        var (exit, stdout, stderr) = await TesseraCli.RunAsync("reload", "--config", broker.ConfigPath);

        Assert.True(exit == 0, stderr);
        Assert.Equal([$"reloaded {HashOf(broker.ServerConfigPath)} (previous {previous})", $"  agent added: {NewAgent}"], TesseraCli.Lines(stdout));
        Assert.Equal("", stderr);
        using var after = await broker.RequestTokenAsync(NewAgent, NewAgentSecret);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task A_file_read_again_unchanged_says_no_changes_and_warnings_are_printed_each_on_its_line()
    {
        await using var broker = await CliBroker.StartAsync();
        var hash = HashOf(broker.ServerConfigPath);

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("reload", "--config", broker.ConfigPath);

        Assert.True(exit == 0, stderr);
        Assert.Equal([$"reloaded {hash} (previous {hash}): no changes"], TesseraCli.Lines(stdout));

        // A rule that allows everything is accepted, with a warning naming file, line and key.
        var yaml = await File.ReadAllTextAsync(broker.ServerConfigPath);
        await File.WriteAllTextAsync(broker.ServerConfigPath, yaml.Replace("read: { rules: [ \"GET /contacts/**\" ] }", "read: { rules: [ \"* /**\" ] }", StringComparison.Ordinal));
        (exit, stdout, stderr) = await TesseraCli.RunAsync("reload", "--config", broker.ConfigPath);

        Assert.True(exit == 0, stderr);
        var lines = TesseraCli.Lines(stdout);
        Assert.Equal($"reloaded {HashOf(broker.ServerConfigPath)} (previous {hash})", lines[0]);
        Assert.Equal("  scope changed: crm:read (rules)", lines[1]);
        Assert.Single(lines, l => l.StartsWith("warning: server.yaml:", StringComparison.Ordinal) && l.Contains("tools[0].scopes.read", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_invalid_file_exits_1_naming_file_line_and_key_and_the_running_configuration_stays()
    {
        await using var broker = await CliBroker.StartAsync();
        var running = HashOf(broker.ServerConfigPath);
        var yaml = await File.ReadAllTextAsync(broker.ServerConfigPath);
        await File.WriteAllTextAsync(broker.ServerConfigPath, yaml.Replace("expires: 2027-06-30", "expires: someday", StringComparison.Ordinal));

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("reload", "--config", broker.ConfigPath);

        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        var lines = TesseraCli.Lines(stderr);
        Assert.Matches(@"^Configuration refused: server\.yaml:\d+: agents\[0\]\.expires: ", lines[0]);
        Assert.Equal("Nothing changed: the server runs the configuration it ran before.", lines[1]);
        using var token = await broker.RequestAgentTokenAsync();
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
        var (_, status, _) = await TesseraCli.RunAsync("status", "--config", broker.ConfigPath, "--json");
        Assert.Equal(running, JsonDocument.Parse(status).RootElement.GetProperty("config").GetProperty("hash").GetString());
    }

    [Fact]
    public async Task An_edit_that_breaks_the_local_file_still_reaches_the_server_which_refuses_it_on_record()
    {
        // The operator's usual case: the file tessera reload reads to find the server is the one they just
        // broke. Its listen address and data_dir still locate the server; the server judges the file.
        await using var broker = await CliBroker.StartAsync();
        var yaml = await File.ReadAllTextAsync(broker.ConfigPath);
        await File.WriteAllTextAsync(broker.ConfigPath, yaml.Replace("expires: 2027-06-30", "expires: someday", StringComparison.Ordinal));
        var serverYaml = await File.ReadAllTextAsync(broker.ServerConfigPath);
        await File.WriteAllTextAsync(broker.ServerConfigPath, serverYaml.Replace("expires: 2027-06-30", "expires: someday", StringComparison.Ordinal));

        var (exit, _, stderr) = await TesseraCli.RunAsync("reload", "--config", broker.ConfigPath);
        var (statusExit, status, _) = await TesseraCli.RunAsync("status", "--config", broker.ConfigPath, "--json");

        Assert.Equal(1, exit);
        Assert.Matches(@"^Configuration refused: server\.yaml:\d+: agents\[0\]\.expires: ", TesseraCli.Lines(stderr)[0]);
        Assert.Equal(0, statusExit);
        Assert.True(JsonDocument.Parse(status).RootElement.GetProperty("ready").GetBoolean());
        var refused = await broker.AuditEventsAsync(Tessera.Core.Audit.AuditTypes.ConfigRefused);
        Assert.Equal(Tessera.Core.Protocol.RefusalCodes.ConfigInvalid, Assert.Single(refused).Record.ReasonCode);
    }

    [Fact]
    public async Task A_refusal_that_echoes_a_key_from_the_file_cannot_drive_the_terminal()
    {
        await using var broker = await CliBroker.StartAsync();
        // The server's reason names the unknown key, written here with an escape sequence that would clear the screen.
        await File.AppendAllTextAsync(broker.ServerConfigPath, "\n\"x\\e[2Jy\": 1\n");

        var (exit, _, stderr) = await TesseraCli.RunAsync("reload", "--config", broker.ConfigPath);

        Assert.Equal(1, exit);
        Assert.StartsWith("Configuration refused: server.yaml:", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', stderr);
        Assert.Contains("x\\x1b[2Jy", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_that_changes_a_restart_only_setting_exits_3_naming_the_setting()
    {
        await using var broker = await CliBroker.StartAsync();
        var yaml = await File.ReadAllTextAsync(broker.ServerConfigPath);
        await File.WriteAllTextAsync(broker.ServerConfigPath, yaml.Replace("http://127.0.0.1:8080", "http://127.0.0.1:8081", StringComparison.Ordinal));

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("reload", "--config", broker.ConfigPath);

        Assert.Equal(3, exit);
        Assert.Equal("", stdout);
        var lines = TesseraCli.Lines(stderr);
        Assert.StartsWith("Reload refused: server changed: these take a restart", lines[0], StringComparison.Ordinal);
        Assert.Equal("Nothing changed: the server runs the configuration it ran before.", lines[1]);
    }

    [Fact]
    public async Task Json_prints_the_servers_answer()
    {
        await using var broker = await CliBroker.StartAsync();
        var previous = HashOf(broker.ServerConfigPath);
        await File.AppendAllTextAsync(broker.ServerConfigPath, NewAgentYaml);

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("reload", "--config", broker.ConfigPath, "--json");

        Assert.True(exit == 0, stderr);
        Assert.Single(TesseraCli.Lines(stdout));
        var answer = JsonDocument.Parse(stdout).RootElement;
        Assert.True(answer.GetProperty("reloaded").GetBoolean());
        Assert.Equal(HashOf(broker.ServerConfigPath), answer.GetProperty("config_hash").GetString());
        Assert.Equal(previous, answer.GetProperty("previous_hash").GetString());
        Assert.Equal([$"agent added: {NewAgent}"], answer.GetProperty("changes").EnumerateArray().Select(c => c.GetString()));
        Assert.Empty(answer.GetProperty("warnings").EnumerateArray());
    }
}
