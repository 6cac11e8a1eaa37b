namespace Tessera.Cli.Tests;

[Collection("Console")]
public sealed class ClientCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tessera-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("keys", "list")]
    [InlineData("audit", "query")]
    [InlineData("audit", "verify")]
    [InlineData("secret", "list")]
    [InlineData("revoke", "--jti", "x")]
    public async Task Every_command_that_reads_the_configuration_exits_2_on_a_yaml_syntax_error(params string[] command)
    {
        var path = Path.Combine(_dir, "tessera.yaml");
        File.WriteAllText(path, "server:\n  listen: \"http://127.0.0.1:8080\ntools: []\n");

        var (exit, _, stderr) = await TesseraCli.RunAsync([.. command, "--config", path]);

        Assert.Equal(2, exit);
        Assert.Matches(@"^Configuration refused: tessera\.yaml:\d+:\d+: not valid YAML: ", stderr);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }
}
