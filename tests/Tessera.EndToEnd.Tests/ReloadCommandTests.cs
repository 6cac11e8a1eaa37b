using System.Diagnostics;
using System.Globalization;
using Tessera.Core.Configuration;

namespace Tessera.EndToEnd.Tests;

/// <summary>
/// Reloading the configuration of a real <c>tessera serve</c>: an agent is onboarded with
/// <c>tessera reload</c> and offboarded with SIGHUP, the process never restarting; an invalid file
/// on SIGHUP changes nothing and the process keeps serving. Each wait is on the server's own log
/// line for the reload, bounded only to fail a hung test.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Speed", "Slow")] // real processes; a developer's fast set leaves them out (README.md)
public sealed class ReloadCommandTests : IDisposable
{
    private const string NewAgent = "billing-agent";
    private const string NewAgentSecret = "e2e-billing-secret-5c1a9e7d3f";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-e2e-" + Guid.NewGuid().ToString("N"));
    private readonly int _port = TesseraProcess.FreePort();

    public ReloadCommandTests() => Directory.CreateDirectory(_directory);

    private string ConfigPath => Path.Combine(_directory, "tessera.yaml");

    private string BaseYaml => $"""
        server:
          listen: http://127.0.0.1:{_port}
        storage: sqlite:data/tessera.db
        data_dir: data

        """ + TesseraProcess.CrmAndSupportAgent + "\n";

    private static string NewAgentYaml => $$"""
          - id: {{NewAgent}}
            owner: billing@corp.example
            purpose: Send invoices
            expires: {{TesseraProcess.AgentExpiry}}
            auth: { client_secret_sha256: {{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(NewAgentSecret)))}} }
            allowed_scopes: [ "crm:read" ]

        """;

    private string Hash => ConfigLoader.HashOf(File.ReadAllBytes(ConfigPath));

    [Fact]
    public async Task An_agent_is_onboarded_with_tessera_reload_and_offboarded_with_sighup_while_the_process_runs_on()
    {
        await File.WriteAllTextAsync(ConfigPath, BaseYaml);
        await using var server = TesseraProcess.Start(_directory, null, "serve");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
        await server.WaitUntilReadyAsync(http);
        var started = Hash;
        Assert.Equal(started, await ReadyHashAsync(http));

        // Not in the file: not a client at all.
        using (var refused = await RequestTokenAsync(http))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("invalid_client", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        }

        // Onboarding: the file gains the agent, the operator runs tessera reload.
        await File.WriteAllTextAsync(ConfigPath, BaseYaml + NewAgentYaml);
        var onboarded = Hash;
        var (reloadCode, reloadOutput) = await TesseraProcess.RunAsync(_directory, "reload");
        Assert.True(reloadCode == 0, reloadOutput);
        Assert.Contains($"reloaded {onboarded} (previous {started})", reloadOutput, StringComparison.Ordinal);
        Assert.Contains($"  agent added: {NewAgent}", reloadOutput, StringComparison.Ordinal);
        Assert.Equal(onboarded, await ReadyHashAsync(http));

        string token;
        using (var issued = await RequestTokenAsync(http))
        {
            Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
            token = JsonDocument.Parse(await issued.Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString()!;
        }

        var admin = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(Path.Combine(_directory, "data", "admin.token"))).Trim());
        Assert.True(await IsActiveAsync(http, admin, token));

        // Offboarding: the agent leaves the file, the process gets SIGHUP.
        await File.WriteAllTextAsync(ConfigPath, BaseYaml);
        var offboarded = Hash;
        await SignalAsync(server, "-HUP");
        await server.WaitForStandardOutputAsync(line => line.Contains($"Configuration reloaded: {offboarded}, asked by SIGHUP", StringComparison.Ordinal));
        Assert.Equal(offboarded, await ReadyHashAsync(http));

        // The token it got before is dead at introspection and at the proxy; it gets no new one.
        Assert.False(await IsActiveAsync(http, admin, token));
        using (var proxied = new HttpRequestMessage(HttpMethod.Get, "/proxy/crm/contacts/1"))
        {
            proxied.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(proxied);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var refused = await RequestTokenAsync(http))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // Started with SIGHUP at its default, the process gave no warning about it.
        Assert.DoesNotContain("SIGHUP is ignored", server.Output, StringComparison.Ordinal);

        // Both reloads are on record, by who asked; one process served it all, started once.
        var reloads = await AuditAsync("config.reloaded");
        Assert.Equal(["bootstrap-admin", "SIGHUP"], reloads.Select(e => e.GetProperty("principal").GetString()));
        Assert.Equal([onboarded, offboarded], reloads.Select(e => e.GetProperty("config_hash").GetString()));
        Assert.False(server.Process.HasExited);
        Assert.Single(server.Output.Split('\n'), line => line.Contains("Application started.", StringComparison.Ordinal));
        Assert.Equal(0, await server.TerminateAsync());
    }

    [Fact]
    public async Task An_invalid_file_on_sighup_changes_nothing_and_the_process_keeps_serving()
    {
        await File.WriteAllTextAsync(ConfigPath, BaseYaml + NewAgentYaml);
        await using var server = TesseraProcess.Start(_directory, null, "serve");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
        await server.WaitUntilReadyAsync(http);
        var running = Hash;

        // The new agent's expiry is no date: the file no longer loads.
        await File.WriteAllTextAsync(ConfigPath, BaseYaml + NewAgentYaml.Replace("expires: ", "expires: someday # ", StringComparison.Ordinal));
        await SignalAsync(server, "-HUP");
        await server.WaitForStandardOutputAsync(line => line.Contains("Configuration reload refused (config.invalid), asked by SIGHUP", StringComparison.Ordinal));

        Assert.False(server.Process.HasExited);
        Assert.Equal(running, await ReadyHashAsync(http));
        using (var issued = await RequestTokenAsync(http))
        {
            Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
        }

        var refusal = Assert.Single(await AuditAsync("config.refused", fileInvalid: true));
        Assert.Equal("SIGHUP", refusal.GetProperty("principal").GetString());
        Assert.Equal("config.invalid", refusal.GetProperty("reason_code").GetString());
        Assert.Contains("tessera.yaml:", refusal.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Empty(await AuditAsync("config.reloaded", fileInvalid: true));
        Assert.Equal(0, await server.TerminateAsync());
    }

    [Fact]
    public async Task A_process_started_under_nohup_says_sighup_will_not_reload_it_and_tessera_reload_still_does()
    {
        await File.WriteAllTextAsync(ConfigPath, BaseYaml);
        await using var server = TesseraProcess.StartIgnoringHangup(_directory, "serve");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
        await server.WaitUntilReadyAsync(http);
        await server.WaitForStandardOutputAsync(line => line.Contains("SIGHUP is ignored by this process", StringComparison.Ordinal));

        // The signal is ignored, as nohup asked: it neither ends the process nor reloads.
        await File.WriteAllTextAsync(ConfigPath, BaseYaml + NewAgentYaml);
        await SignalAsync(server, "-HUP");
        var (code, output) = await TesseraProcess.RunAsync(_directory, "reload");
        Assert.True(code == 0, output);
        Assert.Equal(Hash, await ReadyHashAsync(http));
        Assert.False(server.Process.HasExited);
        Assert.Equal(["bootstrap-admin"], (await AuditAsync("config.reloaded")).Select(e => e.GetProperty("principal").GetString()));
        Assert.Equal(0, await server.TerminateAsync());
    }

    /// <summary>The running configuration's hash as <c>/readyz</c> gives it, in its header and on its second line (which must agree).</summary>
    private static async Task<string> ReadyHashAsync(HttpClient http)
    {
        using var ready = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var header = Assert.Single(ready.Headers.GetValues("Tessera-Config-Hash"));
        Assert.Equal(["ready", $"config {header}"], (await ready.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n'));
        return header;
    }

    /// <summary>
    /// <c>tessera audit query --type TYPE --json</c>; while the file does not load, the command cannot
    /// read the server's address and token from it, so they are given as TESSERA_ADDR and TESSERA_TOKEN.
    /// </summary>
    private async Task<List<JsonElement>> AuditAsync(string type, bool fileInvalid = false)
    {
        var environment = fileInvalid
            ? new Dictionary<string, string>
            {
                ["TESSERA_ADDR"] = $"http://127.0.0.1:{_port}",
                ["TESSERA_TOKEN"] = (await File.ReadAllTextAsync(Path.Combine(_directory, "data", "admin.token"))).Trim(),
            }
            : null;
        var (code, output) = await TesseraProcess.RunAsync(_directory, environment, "audit", "query", "--type", type, "--json");
        Assert.True(code == 0, output);
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)];
    }

    private static async Task SignalAsync(TesseraProcess server, string signal)
    {
        using var kill = Process.Start("kill", [signal, server.Process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    private static async Task<HttpResponseMessage> RequestTokenAsync(HttpClient http)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", "crm:read")]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{NewAgent}:{NewAgentSecret}")));
        return await http.SendAsync(request);
    }

    private static async Task<bool> IsActiveAsync(HttpClient http, AuthenticationHeaderValue admin, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect") { Content = new FormUrlEncodedContent([new("token", token)]) };
        request.Headers.Authorization = admin;
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("active").GetBoolean();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left behind in the temp directory; harmless.
        }
    }
}
