using System.CommandLine;

namespace Tessera.Cli.Commands;

internal static class AgentCommand
{
    public static Command Create() => new("agent", "Stop or restart issuance to an agent") { Create("suspend", "Stop issuing tokens to an agent (tokens it holds stay valid; use revoke for those)"), Create("resume", "Issue tokens to a suspended agent again") };

    private static Command Create(string verb, string description)
    {
        var config = CliOptions.Config();
        var id = new Argument<string>("id") { Description = "The agent id" };
        var command = new Command(verb, description) { config, id };
        command.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            using var result = await client.PostAsync($"/admin/v1/agents/{Uri.EscapeDataString(parse.GetValue(id)!)}/{verb}", new { }, ct);
            Terminal.WriteLine($"agent {result.RootElement.GetProperty("id").GetString()} is {result.RootElement.GetProperty("status").GetString()}");
            return ExitCodes.Success;
        }));
        return command;
    }
}
