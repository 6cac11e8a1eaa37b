using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Storage;

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
            // The cursor is passed back as the server wrote it: a number on SQLite, a token on PostgreSQL.
            var after = "0";
            while (true)
            {
                using var page = await client.GetAsync($"/admin/v1/audit?after={Uri.EscapeDataString(after)}&limit=1000{query}", ct);
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

                after = next.ValueKind == JsonValueKind.Number ? next.GetRawText() : next.GetString()!;
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
        foreach (var field in new[] { "node", "agent", "principal", "mission", "purpose", "tool", "secret", "method", "path", "rule", "status", "latency_ms", "mcp_method", "mcp_name", "lease", "role", "jti", "reason_code", "reason" })
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
        var command = new Command("verify", "Verify the audit hash chain (on PostgreSQL every node's) offline; exit 1 naming the first bad event") { config };
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

            // On PostgreSQL this verifies every node's chain, each on its own, in read-only transactions.
            ITesseraStore opened;
            try
            {
                opened = ConfiguredStore.Open(loaded, readOnly: true);
            }
            catch (ConfigException ex)
            {
                await Terminal.WriteErrorLineAsync($"Configuration refused: {ex.Message}");
                return ExitCodes.For(ex);
            }

            await using var store = opened;
            var watch = Stopwatch.StartNew();
            IReadOnlyList<ChainVerification> results;
            try
            {
                results = await AuditVerifier.VerifyAllAsync(store.Audit, ct);
            }
            catch (System.Data.Common.DbException ex) when (ConfiguredStore.IsShared(loaded))
            {
                await Terminal.WriteErrorLineAsync($"Cannot read the audit log: {ex.Message}");
                return ExitCodes.Failed;
            }

            if (results is [{ Node: null, Result: var result }])
            {
                if (!result.IsIntact)
                {
                    await Terminal.WriteErrorLineAsync($"audit chain broken at seq {result.BrokenAtSeq}: {result.Problem}");
                    return ExitCodes.Failed;
                }

                Terminal.WriteLine($"audit chain intact: {result.VerifiedCount} events verified in {watch.Elapsed.TotalSeconds:F2}s; head hash {result.HeadHash}");
                return ExitCodes.Success;
            }

            // One chain per node: each node's count and head (to compare with copies kept elsewhere), each break by node.
            var intact = true;
            foreach (var (node, chain) in results)
            {
                if (chain.IsIntact)
                {
                    Terminal.WriteLine($"node {node}: {chain.VerifiedCount} events verified; head hash {chain.HeadHash}");
                }
                else
                {
                    intact = false;
                    await Terminal.WriteErrorLineAsync($"audit chain broken at node {node} seq {chain.BrokenAtSeq}: {chain.Problem}");
                }
            }

            if (!intact)
            {
                return ExitCodes.Failed;
            }

            Terminal.WriteLine($"audit chain intact: {results.Sum(r => r.Result.VerifiedCount)} events of {results.Count} nodes verified in {watch.Elapsed.TotalSeconds:F2}s");
            return ExitCodes.Success;
        });
        return command;
    }
}
