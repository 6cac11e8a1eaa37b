using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;

namespace Tessera.Cli.Commands;

internal static class AuditCommand
{
    public static Command Create() => new("audit", "Query and verify the audit log") { CreateQuery(), CreateVerify() };

    private static Command CreateQuery()
    {
        var config = CliOptions.Config();
        var agent = new Option<string>("--agent") { Description = "Only events of this agent" };
        var principal = new Option<string>("--principal") { Description = "Only events on behalf of this principal (sub)" };
        var mission = new Option<string>("--mission") { Description = "Only events of this mission" };
        var tool = new Option<string>("--tool") { Description = "Only events about this tool" };
        var type = new Option<string>("--type") { Description = "Only events of this type (token.issued, ...)" };
        var since = new Option<string>("--since") { Description = "RFC 3339 time or a duration ago (1h)" };
        var json = new Option<bool>("--json") { Description = "Print JSON Lines" };
        var command = new Command("query", "Show audit events (oldest first)") { config, agent, principal, mission, tool, type, since, json };
        command.SetAction((parse, ct) => ClientCommand.RunAsync(parse.GetValue(config)!, async client =>
        {
            var query = new StringBuilder();
            Add("agent", parse.GetValue(agent));
            Add("principal", parse.GetValue(principal));
            Add("mission", parse.GetValue(mission));
            Add("tool", parse.GetValue(tool));
            Add("type", parse.GetValue(type));
            Add("since", parse.GetValue(since));
            var after = 0L;
            while (true)
            {
                using var page = await client.GetAsync($"/admin/v1/audit?after={after}&limit=1000{query}", ct);
                foreach (var e in page.RootElement.GetProperty("events").EnumerateArray())
                {
                    if (parse.GetValue(json))
                    {
                        Terminal.WriteJson(e);
                    }
                    else
                    {
                        Terminal.WriteLine(Describe(e));
                    }
                }

                if (!page.RootElement.TryGetProperty("next_after", out var next))
                {
                    return ExitCodes.Success;
                }

                after = next.GetInt64();
            }

            void Add(string name, string? value)
            {
                if (value is not null)
                {
                    query.Append('&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
                }
            }
        }));
        return command;
    }

    /// <summary>One readable line per event: who, on whose behalf, through which agents, what, and why.</summary>
    internal static string Describe(JsonElement e)
    {
        var line = new StringBuilder();
        line.Append(e.GetProperty("seq").GetInt64()).Append("  ").Append(e.GetProperty("time").GetString())
            .Append("  ").Append(e.GetProperty("type").GetString()).Append(' ').Append(e.GetProperty("outcome").GetString());
        foreach (var field in new[] { "agent", "principal", "mission", "purpose", "tool", "secret", "method", "path", "rule", "status", "latency_ms", "mcp_method", "mcp_name", "jti", "reason_code", "reason" })
        {
            if (e.TryGetProperty(field, out var v))
            {
                line.Append("  ").Append(field).Append('=').Append(v.ValueKind == JsonValueKind.Number ? v.GetRawText() : v.GetString());
            }
        }

        foreach (var field in new[] { "actor_chain", "scopes" })
        {
            if (e.TryGetProperty(field, out var v))
            {
                line.Append("  ").Append(field).Append('=').Append(string.Join(field == "actor_chain" ? ">" : ",", v.EnumerateArray().Select(x => x.GetString())));
            }
        }

        return line.ToString();
    }

    private static Command CreateVerify()
    {
        var config = CliOptions.Config();
        var command = new Command("verify", "Verify the audit hash chain offline; exit 1 naming the first bad sequence number") { config };
        command.SetAction(async (parse, ct) =>
        {
            TesseraConfig loaded;
            try
            {
                loaded = ConfigLoader.LoadFile(parse.GetValue(config)!);
            }
            catch (ConfigException ex)
            {
                await Terminal.WriteErrorLineAsync($"Configuration refused: {ex.Message}");
                return ExitCodes.For(ex);
            }

            if (!ConfiguredStore.IsShared(loaded))
            {
                var path = loaded.Storage["sqlite:".Length..];
                if (!File.Exists(path))
                {
                    await Terminal.WriteErrorLineAsync($"No audit database at {path}.");
                    return ExitCodes.Failed;
                }
            }

            // On PostgreSQL this verifies this node's chain (cluster.node_id) in read-only transactions.
            await using var store = ConfiguredStore.Open(loaded, readOnly: true);
            var watch = Stopwatch.StartNew();
            AuditVerification result;
            try
            {
                result = await AuditVerifier.VerifyAsync(store.Audit, ct);
            }
            catch (System.Data.Common.DbException ex) when (ConfiguredStore.IsShared(loaded))
            {
                await Terminal.WriteErrorLineAsync($"Cannot read the audit log: {ex.Message}");
                return ExitCodes.Failed;
            }

            if (!result.IsIntact)
            {
                await Terminal.WriteErrorLineAsync($"audit chain broken at seq {result.BrokenAtSeq}: {result.Problem}");
                return ExitCodes.Failed;
            }

            Terminal.WriteLine($"audit chain intact: {result.VerifiedCount} events verified in {watch.Elapsed.TotalSeconds:F2}s; head hash {result.HeadHash}");
            return ExitCodes.Success;
        });
        return command;
    }
}
