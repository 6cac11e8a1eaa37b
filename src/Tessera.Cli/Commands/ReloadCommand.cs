using System.CommandLine;
using System.Text.Json;

namespace Tessera.Cli.Commands;

/// <summary>
/// <c>tessera reload [--json]</c>: asks the running server to read its configuration file again
/// (<c>POST /admin/v1/config/reload</c>; the server decides and records it). Exit 0 when the new
/// configuration runs, 1 when the file is invalid (or the server cannot be asked), 3 when the file
/// takes a restart; a refused reload changes nothing.
/// </summary>
internal static class ReloadCommand
{
    /// <summary>What a refusal leaves running, said after the server's reason so nobody has to guess.</summary>
    private const string NothingChanged = "Nothing changed: the server runs the configuration it ran before.";

    public static Command Create()
    {
        var config = CliOptions.Config();
        var json = new Option<bool>("--json") { Description = "Print the answer as JSON (what POST /admin/v1/config/reload answers)" };
        var command = new Command("reload", "Make the running server read its configuration file again and apply it without a restart")
        {
            config, json,
        };
        command.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            JsonDocument answer;
            try
            {
                answer = await client.PostAsync("/admin/v1/config/reload", new { }, ct);
            }
            catch (CliException refused) when (refused.Status is 422 or 409)
            {
                // 422 (config.invalid): the detail names file, line and key, as serve says it at start.
                await Terminal.WriteErrorLineAsync(refused.Status == 422 ? $"Configuration refused: {refused.Detail}" : $"Reload refused: {refused.Detail}");
                await Terminal.WriteErrorLineAsync(NothingChanged);
                return refused.Status == 422 ? ExitCodes.Failed : ExitCodes.Conflict;
            }

            using (answer)
            {
                var root = answer.RootElement;
                if (parse.GetValue(json))
                {
                    Terminal.WriteJson(root);
                    return ExitCodes.Success;
                }

                var changes = root.GetProperty("changes").EnumerateArray().Select(c => c.GetString()).ToList();
                Terminal.WriteLine($"reloaded {root.GetProperty("config_hash").GetString()} (previous {root.GetProperty("previous_hash").GetString()})"
                    + (changes.Count == 0 ? ": no changes" : ""));
                foreach (var change in changes)
                {
                    Terminal.WriteLine($"  {change}");
                }

                foreach (var warning in root.GetProperty("warnings").EnumerateArray())
                {
                    Terminal.WriteLine($"warning: {warning.GetString()}");
                }

                return ExitCodes.Success;
            }
        }));
        return command;
    }
}
