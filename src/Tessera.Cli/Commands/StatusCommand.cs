using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Tessera.Cli.Commands;

/// <summary>
/// <c>tessera status [--json]</c>: <c>GET /admin/v1/status</c>, the node asked, the configuration it
/// runs, and every node of the installation with the configuration each runs, saying whether they
/// all agree (after a reload, until every node has taken the file, they do not).
/// </summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var config = CliOptions.Config();
        var json = new Option<bool>("--json") { Description = "Print the answer as JSON (what GET /admin/v1/status answers)" };
        var command = new Command("status", "Show the configuration this node runs, and whether every node runs the same") { config, json };
        command.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            using var status = await client.GetAsync("/admin/v1/status", ct);
            var root = status.RootElement;
            if (parse.GetValue(json))
            {
                Terminal.WriteJson(root);
            }
            else
            {
                foreach (var line in Describe(root))
                {
                    Terminal.WriteLine(line);
                }
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>The answer as lines for a person (unescaped: the caller prints them through <see cref="Terminal"/>).</summary>
    internal static IEnumerable<string> Describe(JsonElement root)
    {
        var running = root.GetProperty("config");
        var hash = running.GetProperty("hash").GetString();
        yield return $"node {root.GetProperty("node").GetString()}: {(root.GetProperty("ready").GetBoolean() ? "ready" : "not ready")}";
        yield return $"configuration {hash}, loaded {running.GetProperty("loaded_at").GetString()}"
            + (running.TryGetProperty("file", out var file) ? $" from {file.GetString()}" : " (not from a file)");

        var nodes = root.GetProperty("nodes").EnumerateArray().ToList();
        var count = nodes.Count.ToString(CultureInfo.InvariantCulture) + (nodes.Count == 1 ? " node" : " nodes");
        var configurations = nodes.Select(n => n.GetProperty("config_hash").GetString()).Distinct(StringComparer.Ordinal).Count();
        yield return root.GetProperty("nodes_agree").GetBoolean()
            ? $"{count}, all on the same configuration"
            : $"{count} that DISAGREE: {configurations.ToString(CultureInfo.InvariantCulture)} configurations run";
        foreach (var n in nodes)
        {
            var nodeHash = n.GetProperty("config_hash").GetString();
            yield return $"  {n.GetProperty("node").GetString()}  {nodeHash}  loaded {n.GetProperty("loaded_at").GetString()}  seen {n.GetProperty("seen_at").GetString()}"
                + (string.Equals(nodeHash, hash, StringComparison.Ordinal) ? "" : "  (differs from this node)");
        }
    }
}
