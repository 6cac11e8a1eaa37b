namespace Tessera.EndToEnd.Tests;

/// <summary>
/// Signed audit checkpoints with the real process: <c>tessera serve</c> cuts them with its signing
/// key, <c>tessera audit checkpoint export</c> writes the latest beside the running server, and
/// <c>tessera audit verify --checkpoint</c> finds it held, under a key Tessera holds.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Speed", "Slow")] // real processes; a developer's fast set leaves them out (README.md)
public sealed class AuditCheckpointCommandTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-e2e-" + Guid.NewGuid().ToString("N"));

    public AuditCheckpointCommandTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_checkpoint_exported_beside_the_running_server_verifies_under_its_signing_key()
    {
        var port = TesseraProcess.FreePort();
        var (initCode, initOutput) = await TesseraProcess.RunAsync(_directory, "init");
        Assert.True(initCode == 0, initOutput);
        var configPath = Path.Combine(_directory, "tessera.yaml");
        var yaml = (await File.ReadAllTextAsync(configPath)).Replace("127.0.0.1:8080", $"127.0.0.1:{port}", StringComparison.Ordinal);
        await File.WriteAllTextAsync(configPath, yaml + "\naudit:\n  checkpoint: { every_events: 3 }\n");

        await using var server = TesseraProcess.Start(_directory, null, "serve");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await server.WaitUntilReadyAsync(http);
        var secret = (await File.ReadAllTextAsync(Path.Combine(_directory, "data", "support-agent.secret"))).Trim();
        var basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"support-agent:{secret}")));
        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
            {
                Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", "crm:read")]),
            };
            request.Headers.Authorization = basic;
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var file = Path.Combine(_directory, "checkpoints.json");
        var (exportCode, exportOutput) = await TesseraProcess.RunAsync(_directory, "audit", "checkpoint", "export", "--out", file);
        Assert.True(exportCode == 0, exportOutput);
        Assert.Contains("exported the checkpoint of seq ", exportOutput, StringComparison.Ordinal);

        var (verifyCode, verifyOutput) = await TesseraProcess.RunAsync(_directory, "audit", "verify", "--checkpoint", file);
        Assert.True(verifyCode == 0, verifyOutput);
        Assert.Contains("audit chain intact", verifyOutput, StringComparison.Ordinal);
        Assert.Matches(@"checkpoint of seq \d+ holds: the log has the signed hash at seq \d+; signed at \S+ with key \S+, which Tessera holds", verifyOutput);

        Assert.Equal(0, await server.TerminateAsync());
    }
}
