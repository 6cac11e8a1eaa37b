namespace Tessera.Server.Tests.Hosting;

public sealed class StartupServiceTests
{
    [Fact]
    public async Task Configuration_warnings_are_logged_at_start_with_file_line_and_path()
    {
        var logs = new CapturingLoggerProvider();
        var yaml = TestBroker.DefaultYaml().Replace("read: { rules: [ \"GET /**\" ] }", "read: { rules: [ \"* /**\" ] }", StringComparison.Ordinal);
        Assert.NotEqual(TestBroker.DefaultYaml(), yaml);

        await using var broker = await TestBroker.StartAsync(yaml, configure: logs.AddTo);

        var warning = Assert.Single(logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("tools[2].scopes.read.rules[0]", StringComparison.Ordinal));
        Assert.Contains("tessera.yaml:", warning, StringComparison.Ordinal);
        Assert.Contains("'* /**' allows every method on every path of tool 'vault'", warning, StringComparison.Ordinal);
        Assert.Contains(logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("server.listen", StringComparison.Ordinal));
    }
}
