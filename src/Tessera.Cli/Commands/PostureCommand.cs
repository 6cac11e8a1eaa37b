using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Tessera.Core.Posture;

namespace Tessera.Cli.Commands;

/// <summary>
/// <c>tessera posture [--json] [--fail-on high|medium|low]</c>: the report of <c>GET /admin/v1/posture</c>
/// (docs/posture.md), as text for people or JSON for pipelines; exit 1 when <c>--fail-on</c> names a
/// severity some finding reaches.
/// </summary>
internal static class PostureCommand
{
    /// <summary>What a finding can concern, in the order the text names them.</summary>
    private static readonly string[] Subjects = ["agent", "tool", "scope", "secret", "rule"];

    public static Command Create()
    {
        var config = CliOptions.Config();
        var json = new Option<bool>("--json") { Description = "Print the report as JSON (what GET /admin/v1/posture answers)" };
        var failOn = new Option<string>("--fail-on") { Description = "Exit 1 when a finding of this severity or higher exists: high, medium or low" };
        failOn.AcceptOnlyFromAmong("high", "medium", "low");
        var command = new Command("posture", "Show every agent's reach and use, and what is stale, unused or too broad") { config, json, failOn };
        command.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            using var report = await client.GetAsync("/admin/v1/posture", ct);
            var root = report.RootElement;
            if (parse.GetValue(json))
            {
                Terminal.WriteJson(root);
            }
            else
            {
                Write(root);
            }

            // The threshold rule is Core's (PostureReport.Reaches); the findings come back as JSON, so it is applied to their severities.
            return PostureSeverities.Parse(parse.GetValue(failOn)) is { } threshold
                && root.GetProperty("findings").EnumerateArray().Any(f => PostureSeverities.Parse(f.GetProperty("severity").GetString()) >= threshold)
                ? ExitCodes.Failed
                : ExitCodes.Success;
        }));
        return command;
    }

    private static void Write(JsonElement root)
    {
        var findings = root.GetProperty("findings").EnumerateArray().ToList();
        var agents = root.GetProperty("agents").EnumerateArray().ToList();
        string Count(string severity) => findings.Count(f => f.GetProperty("severity").GetString() == severity).ToString(CultureInfo.InvariantCulture);
        Terminal.WriteLine($"Posture at {root.GetProperty("generated_at").GetString()} (window {root.GetProperty("window").GetString()}): {Plural(agents.Count, "agent")}, "
            + $"{Plural(findings.Count, "finding")} ({Count("high")} high, {Count("medium")} medium, {Count("low")} low)");

        foreach (var a in agents)
        {
            Terminal.WriteLine("");
            Terminal.WriteLine($"agent {a.GetProperty("id").GetString()}: {a.GetProperty("status").GetString()}, owner {a.GetProperty("owner").GetString()}, expires {a.GetProperty("expires").GetString()}");
            Terminal.WriteLine($"  purpose:       {a.GetProperty("purpose").GetString()}");
            Terminal.WriteLine($"  last token:    {(a.TryGetProperty("last_token_at", out var last) ? last.GetString() : "none on record")}");
            Terminal.WriteLine($"  scopes used:   {List(a.GetProperty("scopes_used"))}");
            Terminal.WriteLine($"  scopes unused: {List(a.GetProperty("scopes_unused"))}");
            var reach = a.GetProperty("reach");
            Terminal.WriteLine($"  reach:         tools {List(reach.GetProperty("tools"))}; secrets {List(reach.GetProperty("secrets"))}; delegates to {List(reach.GetProperty("via_delegation"))}");
            Terminal.WriteLine($"  kill switch:   {a.GetProperty("kill_switch").GetString()}");
            if (a.TryGetProperty("right_sized_scopes", out var rightSized))
            {
                Terminal.WriteLine($"  right-sized:   allowed_scopes: [{string.Join(", ", rightSized.EnumerateArray().Select(s => s.GetString()))}]");
            }
        }

        Terminal.WriteLine("");
        Terminal.WriteLine(findings.Count == 0 ? "No findings." : "Findings:");
        foreach (var f in findings.OrderByDescending(f => PostureSeverities.Parse(f.GetProperty("severity").GetString())))
        {
            var subject = Subjects
                .Where(name => f.TryGetProperty(name, out _))
                .Select(name => $"{name} {f.GetProperty(name).GetString()}");
            Terminal.WriteLine($"  {f.GetProperty("severity").GetString()!.ToUpperInvariant(),-6} {f.GetProperty("type").GetString()} ({string.Join(", ", subject)}): {f.GetProperty("evidence").GetString()}");
            Terminal.WriteLine($"         fix: {f.GetProperty("recommendation").GetString()}");
        }

        var unmatched = root.GetProperty("rules_unmatched").EnumerateArray().ToList();
        if (unmatched.Count > 0)
        {
            Terminal.WriteLine("");
            Terminal.WriteLine($"Rules no request matched within {root.GetProperty("window").GetString()}:");
            foreach (var r in unmatched)
            {
                Terminal.WriteLine($"  {r.GetProperty("scope").GetString()}: {r.GetProperty("text").GetString()}");
            }
        }
    }

    private static string Plural(int count, string noun) => count.ToString(CultureInfo.InvariantCulture) + " " + noun + (count == 1 ? "" : "s");

    private static string List(JsonElement array)
    {
        var items = array.EnumerateArray().Select(e => e.GetString()).ToList();
        return items.Count == 0 ? "(none)" : string.Join(", ", items);
    }
}
