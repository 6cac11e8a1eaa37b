using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Tessera.Cli.Commands;

/// <summary>
/// <c>tessera lease list [--all] [--json]</c> and <c>tessera lease revoke ID [--force]</c>: the database
/// leases of docs/leases.md, through the admin API. Never a password: Tessera does not keep one.
/// </summary>
internal static class LeaseCommand
{
    public static Command Create() => new("lease", "List database leases, or end one now") { List(), Revoke() };

    private static Command List()
    {
        var config = CliOptions.Config();
        var all = new Option<bool>("--all") { Description = "Include leases that ended (kept for 7 days), not only live ones" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per line" };
        var command = new Command("list", "List leases, newest first: live ones (issuing, active, ending), or all with --all") { config, all, json };
        command.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            using var result = await client.GetAsync("/admin/v1/leases" + (parse.GetValue(all) ? "?all=true" : ""), ct);
            var leases = result.RootElement.GetProperty("leases").EnumerateArray().ToList();
            if (!parse.GetValue(json) && leases.Count == 0)
            {
                Terminal.WriteLine(parse.GetValue(all) ? "No leases." : "No live leases.");
            }

            foreach (var l in leases)
            {
                if (parse.GetValue(json))
                {
                    Terminal.WriteJson(l);
                }
                else
                {
                    Terminal.WriteLine(Line(l));
                }
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Revoke()
    {
        var config = CliOptions.Config();
        var id = new Argument<string>("id") { Description = "The lease id (ls_...), as listed" };
        var force = new Option<bool>("--force") { Description = "Close the lease's record even if its database cannot be reached (drop the role by hand then)" };
        var command = new Command("revoke", "End a lease now: its sessions are cut and its role dropped") { config, id, force };
        command.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            using var result = await client.PostAsync($"/admin/v1/leases/{Uri.EscapeDataString(parse.GetValue(id)!)}/revoke",
                new { force = parse.GetValue(force) }, ct);
            var l = result.RootElement;
            Terminal.WriteLine(l.TryGetProperty("last_error", out var error)
                ? $"lease {l.GetProperty("id").GetString()} is ended (forced: role {l.GetProperty("username").GetString()} may remain: {error.GetString()})"
                : $"lease {l.GetProperty("id").GetString()} is ended: role {l.GetProperty("username").GetString()} dropped");
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>One lease on one line: id, status, tool, role, holder, mission, times, and why it ends or fails.</summary>
    private static string Line(JsonElement l)
    {
        string? Get(string name) => l.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var line = $"{Get("id")}  {Get("status"),-7}  tool {Get("tool")}  role {Get("username")}  agent {Get("agent")}";
        if (Get("principal") is { } principal)
        {
            line += $" for {principal}";
        }

        if (Get("mission") is { } mission)
        {
            line += $"  mission {mission}";
        }

        line += $"  scopes {string.Join(' ', l.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()))}  expires {Get("expires_at")}";
        if (Get("ended_at") is { } ended)
        {
            line += $"  ended {ended} ({Get("end_reason")})";
        }

        if (Get("last_error") is { } error && Get("status") != "ended")
        {
            line += $"  FAILING: {l.GetProperty("attempts").GetInt32().ToString(CultureInfo.InvariantCulture)} attempt(s), next {Get("next_attempt_at")}: {error}";
        }

        return line;
    }
}
