using System.CommandLine;
using AgentStatusNames = Tessera.Core.Identity.AgentStatus;

namespace Tessera.Cli.Commands;

internal static class AgentCommand
{
    public static Command Create() => new("agent", "List agents, or stop or restart issuance to one")
    {
        List(),
        Create("suspend", "Stop issuing tokens to an agent (tokens it holds stay valid; use revoke for those)"),
        Create("resume", "Issue tokens to a suspended agent again"),
    };

    /// <summary><c>tessera agent list [--json]</c>: every agent with its status, owner, expiry and the days left before it.</summary>
    private static Command List()
    {
        var config = CliOptions.Config();
        var json = new Option<bool>("--json") { Description = "Print one JSON object per line" };
        var command = new Command("list", "List the agents: status, owner, expiry and days left") { config, json };
        command.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            using var result = await client.GetAsync("/admin/v1/agents", ct);
            var agents = result.RootElement.GetProperty("agents").EnumerateArray().ToList();
            if (!parse.GetValue(json) && agents.Count == 0)
            {
                Terminal.WriteLine("No agents.");
            }

            foreach (var a in agents)
            {
                if (parse.GetValue(json))
                {
                    Terminal.WriteJson(a);
                    continue;
                }

                var days = a.GetProperty("days_left").GetInt32();
                var left = a.GetProperty("status").GetString() == AgentStatusNames.Expired ? "expired" : days == 1 ? "1 day left" : $"{days} days left";
                Terminal.WriteLine($"{a.GetProperty("id").GetString()}  {a.GetProperty("status").GetString(),-9}  expires {a.GetProperty("expires").GetString()} ({left})  owner {a.GetProperty("owner").GetString()}");
            }

            return ExitCodes.Success;
        }));
        return command;
    }

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
