using System.CommandLine;

namespace Tessera.Cli.Commands;

internal static class RevokeCommand
{
    public static Command Create()
    {
        var config = CliOptions.Config();
        var token = new Option<string>("--token") { Description = "A token (JWT) issued by this server" };
        var jti = new Option<string>("--jti") { Description = "A token id" };
        var mission = new Option<string>("--mission") { Description = "A mission id" };
        var agent = new Option<string>("--agent") { Description = "An agent id: every token it holds or acts in" };
        var principal = new Option<string>("--principal") { Description = "A principal's sub: every token issued on their behalf" };
        var approval = new Option<string>("--approval") { Description = "An approval's id (auth_req_id): it yields no token, and its token is revoked" };
        var command = new Command("revoke", "Revoke a token, mission, agent, principal or approval, and everything derived from it")
        {
            config, token, jti, mission, agent, principal, approval,
        };
        command.Validators.Add(result =>
        {
            var given = new[] { token, jti, mission, agent, principal, approval }.Count(o => result.GetResult(o) is not null);
            if (given != 1)
            {
                result.AddError("Give exactly one of --token, --jti, --mission, --agent, --principal or --approval.");
            }
        });
        command.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            object body = parse.GetValue(token) is { } t ? new { kind = "token", token = t }
                : parse.GetValue(jti) is { } j ? new { kind = "jti", id = j }
                : parse.GetValue(mission) is { } m ? new { kind = "mission", id = m }
                : parse.GetValue(agent) is { } a ? new { kind = "agent", id = a }
                : parse.GetValue(approval) is { } p ? new { kind = "approval", id = p }
                : new { kind = "principal", id = parse.GetValue(principal)! };
            using var result = await client.PostAsync("/admin/v1/revocations", body, ct);
            var r = result.RootElement;
            Terminal.WriteLine($"revoked {r.GetProperty("kind").GetString()} {r.GetProperty("id").GetString()} at {r.GetProperty("revoked_at").GetString()}");
            return ExitCodes.Success;
        }));
        return command;
    }
}
