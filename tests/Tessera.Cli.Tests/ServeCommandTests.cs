namespace Tessera.Cli.Tests;

[Collection("Console")]
public sealed class ServeCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tessera-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteConfig(string yaml)
    {
        var path = Path.Combine(_dir, "tessera.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public async Task A_yaml_syntax_error_exits_2_naming_the_file_line_and_column_without_a_stack_trace()
    {
        var path = WriteConfig("server:\n  listen: http://127.0.0.1:8080\ntools:\n\t- id: crm\n");

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("serve", "--config", path);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith("Configuration refused: tessera.yaml:4:1: not valid YAML: ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir, "data")));
    }

    [Theory]
    [InlineData("serve")]
    [InlineData("audit", "verify")]
    [InlineData("storage", "migrate")]
    public async Task A_storage_value_npgsql_refuses_exits_1_naming_storage_without_a_stack_trace_or_the_password(params string[] command)
    {
        var path = WriteConfig("storage: postgres://tessera:hunter2@127.0.0.1:1/tessera?sslmode=verify-full\n");

        var (exit, _, stderr) = await TesseraCli.RunAsync([.. command, "--config", path]);

        Assert.Equal(1, exit);
        Assert.StartsWith("Configuration refused: tessera.yaml: storage: the PostgreSQL storage location is neither", stderr, StringComparison.Ordinal);
        Assert.Contains("sslmode=VerifyFull", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_yaml_value_that_cannot_be_read_exits_1_naming_its_path_without_a_stack_trace()
    {
        var path = WriteConfig("""
            tools:
              - id: crm
                scopes: { read: { rules: [ "GET /x" ] } }
            agents:
              - id: a
                owner: o@example.com
                purpose: p
                expires: 2026-12-31
                auth: { jwks: { ? [ k ] : v } }
            """);

        var (exit, _, stderr) = await TesseraCli.RunAsync("serve", "--config", path);

        Assert.Equal(1, exit);
        Assert.StartsWith("Configuration refused: tessera.yaml:9: agents[0].auth.jwks: ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }
}
