using Tessera.Cli.Commands;
using Tessera.Core.Configuration;

namespace Tessera.Cli.Tests;

/// <summary><c>tessera status</c>: the configuration the node runs, and whether every node runs the same one.</summary>
[Collection("Console")]
public sealed class StatusCommandTests
{
    private const string LoadedAt = "2026-11-29T12:00:00.000Z";

    [Fact]
    public async Task The_text_names_the_node_its_configurations_hash_time_and_file_and_follows_a_reload()
    {
        await using var broker = await CliBroker.StartAsync();
        var node = Environment.MachineName;
        var hash = ConfigLoader.HashOf(File.ReadAllBytes(broker.ServerConfigPath));

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("status", "--config", broker.ConfigPath);

        Assert.True(exit == 0, stderr);
        Assert.Equal(
            [
                $"node {node}: ready",
                $"configuration {hash}, loaded {LoadedAt} from {broker.ServerConfigPath}",
                "1 node, all on the same configuration",
                $"  {node}  {hash}  loaded {LoadedAt}  seen {LoadedAt}",
            ],
            TesseraCli.Lines(stdout));

        // A comment changes the file's bytes, hence its hash, and nothing else.
        await File.AppendAllTextAsync(broker.ServerConfigPath, "\n# reviewed\n");
        Assert.Equal(0, (await TesseraCli.RunAsync("reload", "--config", broker.ConfigPath)).Exit);
        var reloaded = ConfigLoader.HashOf(File.ReadAllBytes(broker.ServerConfigPath));
        (exit, stdout, stderr) = await TesseraCli.RunAsync("status", "--config", broker.ConfigPath);

        Assert.True(exit == 0, stderr);
        Assert.Equal($"configuration {reloaded}, loaded {LoadedAt} from {broker.ServerConfigPath}", TesseraCli.Lines(stdout)[1]);
        Assert.StartsWith($"  {node}  {reloaded}  ", TesseraCli.Lines(stdout)[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_prints_the_servers_answer()
    {
        await using var broker = await CliBroker.StartAsync();

        var (exit, stdout, stderr) = await TesseraCli.RunAsync("status", "--config", broker.ConfigPath, "--json");

        Assert.True(exit == 0, stderr);
        Assert.Single(TesseraCli.Lines(stdout));
        var status = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(Environment.MachineName, status.GetProperty("node").GetString());
        Assert.True(status.GetProperty("ready").GetBoolean());
        Assert.Equal(ConfigLoader.HashOf(File.ReadAllBytes(broker.ServerConfigPath)), status.GetProperty("config").GetProperty("hash").GetString());
        Assert.Equal(broker.ServerConfigPath, status.GetProperty("config").GetProperty("file").GetString());
        Assert.True(status.GetProperty("nodes_agree").GetBoolean());
        Assert.Single(status.GetProperty("nodes").EnumerateArray());
    }

    [Fact]
    public void Nodes_on_another_configuration_are_said_to_disagree_and_each_is_marked()
    {
        using var answer = JsonDocument.Parse("""
            {"node": "node-a", "ready": true, "config": {"hash": "sha256:aaa", "loaded_at": "2026-11-29T12:05:00.000Z"},
             "nodes": [
               {"node": "node-a", "config_hash": "sha256:aaa", "loaded_at": "2026-11-29T12:05:00.000Z", "seen_at": "2026-11-29T12:06:00.000Z"},
               {"node": "node-b", "config_hash": "sha256:bbb", "loaded_at": "2026-11-29T11:00:00.000Z", "seen_at": "2026-11-29T12:05:40.000Z"},
               {"node": "node-c", "config_hash": "sha256:aaa", "loaded_at": "2026-11-29T12:05:01.000Z", "seen_at": "2026-11-29T12:05:50.000Z"}
             ],
             "nodes_agree": false}
            """);

        Assert.Equal(
            [
                "node node-a: ready",
                "configuration sha256:aaa, loaded 2026-11-29T12:05:00.000Z (not from a file)",
                "3 nodes that DISAGREE: 2 configurations run",
                "  node-a  sha256:aaa  loaded 2026-11-29T12:05:00.000Z  seen 2026-11-29T12:06:00.000Z",
                "  node-b  sha256:bbb  loaded 2026-11-29T11:00:00.000Z  seen 2026-11-29T12:05:40.000Z  (differs from this node)",
                "  node-c  sha256:aaa  loaded 2026-11-29T12:05:01.000Z  seen 2026-11-29T12:05:50.000Z",
            ],
            StatusCommand.Describe(answer.RootElement));
    }
}
