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
        var agent = new Option<string>("--agent") { Description = "An agent id: every token it holds or acts in (it can still get new ones; see --suspend)" };
        var principal = new Option<string>("--principal") { Description = "A principal's sub: every token issued on their behalf" };
        var approval = new Option<string>("--approval") { Description = "An approval's id (auth_req_id): it yields no token, and its token is revoked" };
        var suspend = new Option<bool>("--suspend") { Description = "With --agent: also suspend the agent first (as 'tessera agent suspend'), so that it gets no new tokens" };
        var command = new Command("revoke", "Revoke a token, mission, agent, principal or approval, and everything derived from it")
        {
            config, token, jti, mission, agent, principal, approval, suspend,
        };
        command.Validators.Add(result =>
        {
            var given = new[] { token, jti, mission, agent, principal, approval }.Count(o => result.GetResult(o) is not null);
            if (given != 1)
            {
                result.AddError("Give exactly one of --token, --jti, --mission, --agent, --principal or --approval.");
            }
            else if (result.GetValue(suspend) && result.GetResult(agent) is null)
            {
                result.AddError("--suspend goes with --agent only: it stops issuance to that agent.");
            }
        });
        command.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            var agentId = parse.GetValue(agent);
            if (agentId is not null && parse.GetValue(suspend))
            {
                // Suspend first: a token issued between the revocation and the suspension would outlive both.
                using var suspended = await client.PostAsync($"/admin/v1/agents/{Uri.EscapeDataString(agentId)}/suspend", new { }, ct);
                var id = suspended.RootElement.GetProperty("id").GetString();
                Terminal.WriteLine($"agent {id} is {suspended.RootElement.GetProperty("status").GetString()}: no new tokens until 'tessera agent resume {id}'");
            }

            object body = parse.GetValue(token) is { } t ? new { kind = "token", token = t }
                : parse.GetValue(jti) is { } j ? new { kind = "jti", id = j }
                : parse.GetValue(mission) is { } m ? new { kind = "mission", id = m }
                : agentId is not null ? new { kind = "agent", id = agentId }
                : parse.GetValue(approval) is { } p ? new { kind = "approval", id = p }
                : new { kind = "principal", id = parse.GetValue(principal)! };
            using var result = await client.PostAsync("/admin/v1/revocations", body, ct);
            var r = result.RootElement;
            var kind = r.GetProperty("kind").GetString();
            var revoked = r.GetProperty("id").GetString();
            if (kind == "principal")
            {
                // A cut-off in time as well, reaching the person's console sessions too.
                Terminal.WriteLine($"revoked principal {revoked} at {r.GetProperty("revoked_at").GetString()}: every token issued on their behalf, and every console session they signed in, until then is dead");
                return ExitCodes.Success;
            }

            if (kind != "agent")
            {
                Terminal.WriteLine($"revoked {kind} {revoked} at {r.GetProperty("revoked_at").GetString()}");
                return ExitCodes.Success;
            }

            // An agent revocation is a cut-off in time, not a ban: say so, since "revoked" alone reads as one.
            Terminal.WriteLine($"revoked agent {revoked} at {r.GetProperty("revoked_at").GetString()}: every token issued to it, or with it in the actor chain, until then is dead");
            if (!parse.GetValue(suspend))
            {
                Terminal.WriteLine($"{revoked} can still get new tokens: stop that with 'tessera agent suspend {revoked}' (or revoke with --suspend)");
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
