using System.Net.Sockets;

namespace Tessera.EndToEnd.Tests;

/// <summary>
/// What <c>tessera serve</c> leaves on disk and what it refuses to start with: the data directory is
/// the owner's alone (0700, files 0600), and a master key or bootstrap token that others may read or
/// write stops start-up with a clear message instead of being used.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Speed", "Slow")] // real processes; a developer's fast set leaves them out (README.md)
public sealed class ServeCommandTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-e2e-" + Guid.NewGuid().ToString("N"));

    public ServeCommandTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Data => Path.Combine(_directory, "data");

    private async Task WriteConfigAsync(int port) =>
        await File.WriteAllTextAsync(Path.Combine(_directory, "tessera.yaml"), $$"""
            server:
              listen: http://127.0.0.1:{{port}}
            {{TesseraProcess.CrmAndSupportAgent}}
            """);

    [Fact]
    public async Task The_data_directory_and_every_file_serve_writes_are_for_the_owner_only()
    {
        var port = TesseraProcess.FreePort();
        await WriteConfigAsync(port);

        await using var server = TesseraProcess.Start(_directory, null, "serve");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await server.WaitUntilReadyAsync(http);

        Assert.Equal(OwnerOnly | UnixFileMode.UserExecute, File.GetUnixFileMode(Data));
        foreach (var file in new[] { "tessera.db", "tessera.db-wal", "tessera.db-shm", "tessera.lock", "master.key", "admin.token" })
        {
            Assert.True(File.GetUnixFileMode(Path.Combine(Data, file)) == OwnerOnly, $"{file}: {File.GetUnixFileMode(Path.Combine(Data, file))}");
        }

        Assert.Equal(0, await server.TerminateAsync());
    }

    [Theory]
    [InlineData("master.key", UnixFileMode.OtherRead)]
    [InlineData("master.key", UnixFileMode.GroupRead | UnixFileMode.GroupWrite)]
    [InlineData("admin.token", UnixFileMode.GroupRead)]
    public async Task Serve_refuses_a_key_file_that_group_or_others_may_read_or_write(string file, UnixFileMode extra)
    {
        // The port is taken: should serve go ahead anyway, it fails to listen instead of running on.
        using var occupied = new TcpListener(IPAddress.Loopback, 0);
        occupied.Start();
        await WriteConfigAsync(((IPEndPoint)occupied.LocalEndpoint).Port);
        Directory.CreateDirectory(Data);
        var path = Path.Combine(Data, file);
        await File.WriteAllTextAsync(path, file == "master.key" ? Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n" : "tsa_" + Guid.NewGuid().ToString("N") + "\n");
        File.SetUnixFileMode(path, OwnerOnly | extra);

        var (code, output) = await TesseraProcess.RunAsync(_directory, "serve");

        Assert.Equal(1, code);
        Assert.Contains(path, output, StringComparison.Ordinal);
        Assert.Contains("readable or writable by group or others", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Cannot listen", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_refuses_to_start_when_the_consoles_client_secret_variable_is_unset()
    {
        using var occupied = new TcpListener(IPAddress.Loopback, 0);
        occupied.Start();
        var unset = "TESSERA_E2E_UNSET_" + Guid.NewGuid().ToString("N");
        await File.WriteAllTextAsync(Path.Combine(_directory, "tessera.yaml"), $$"""
            server:
              listen: http://127.0.0.1:{{((IPEndPoint)occupied.LocalEndpoint).Port}}
            identity_providers:
              - { id: corp, issuer: "https://idp.corp.test", jwks_uri: "https://idp.corp.test/jwks", audience: tessera }
            console:
              oidc: { idp: corp, client_id: tessera-console, client_secret_env: {{unset}} }
            """);

        var (code, output) = await TesseraProcess.RunAsync(_directory, "serve");

        Assert.Equal(1, code);
        Assert.Contains($"Start-up refused: console.oidc.client_secret_env names {unset}, which is not set", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }
}
