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
    public static Command Create() => new("audit", "Query and verify the audit log") { CreateQuery(), CreateVerify(), CreateCheckpoint() };

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
        foreach (var field in new[] { "node", "agent", "principal", "mission", "purpose", "tool", "secret", "method", "path", "rule", "status", "latency_ms", "mcp_method", "mcp_name", "lease", "role", "jti", "config_hash", "reason_code", "reason" })
        {
            if (e.TryGetProperty(field, out var v))
            {
                line.Append("  ").Append(field).Append('=').Append(v.ValueKind == JsonValueKind.Number ? v.GetRawText() : v.GetString());
            }
        }

        foreach (var field in new[] { "actor_chain", "scopes", "changes" })
        {
            if (e.TryGetProperty(field, out var v))
            {
                var separator = field switch { "actor_chain" => ">", "changes" => "; ", _ => "," };
                line.Append("  ").Append(field).Append('=').Append(string.Join(separator, v.EnumerateArray().Select(x => x.GetString())));
            }
        }

        return line.ToString();
    }

    private static Command CreateVerify()
    {
        var config = CliOptions.Config();
        var checkpoint = new Option<string>("--checkpoint")
        {
            Description = "Also verify the checkpoints in this file (from 'audit checkpoint export'): the log must still reach each one and hold the hash it signed",
        };
        var command = new Command("verify", "Verify the audit hash chain (on PostgreSQL every node's) offline; exit 1 naming the first bad event") { config, checkpoint };
        command.SetAction(async (parse, ct) =>
        {
            // The file first: a file that cannot be read is said before the log is read at all.
            AuditCheckpointFile? file = null;
            if (parse.GetValue(checkpoint) is { } path)
            {
                file = await ReadCheckpointFileAsync(path, ct);
                if (file is null)
                {
                    return ExitCodes.Failed;
                }
            }

            return await WithVerifiedLogAsync(parse.GetValue(config)!, async (store, results, elapsed) =>
            {
                var intact = await ReportChainsAsync(results, elapsed);
                if (file is null)
                {
                    return intact ? ExitCodes.Success : ExitCodes.Failed;
                }

                var held = (await store.SigningKeys.LoadAsync(ct)).Select(k => k.Kid).ToHashSet(StringComparer.Ordinal);
                var holds = true;
                foreach (var verdict in await AuditCheckpointVerifier.VerifyAsync(file, store.Audit, results, held, ct))
                {
                    if (verdict.Holds)
                    {
                        Terminal.WriteLine(verdict.Message);
                    }
                    else
                    {
                        holds = false;
                        await Terminal.WriteErrorLineAsync(verdict.Message);
                    }
                }

                return intact && holds ? ExitCodes.Success : ExitCodes.Failed;
            }, ct);
        });
        return command;
    }

    private static Command CreateCheckpoint()
    {
        var config = CliOptions.Config();
        var output = new Option<string>("--out", "-o") { Description = "Write the file here instead of to standard output" };
        var export = new Command("export", "Write the latest signed checkpoint of each chain, with the public keys that verify it, as a file to keep offline (exit 1 when the chain is broken or has no checkpoint yet)")
        {
            config,
            output,
        };
        export.SetAction(async (parse, ct) => await WithVerifiedLogAsync(parse.GetValue(config)!, async (_, results, _) =>
        {
            // A checkpoint over a chain that no longer verifies would vouch for nothing.
            foreach (var (node, chain) in results.Where(r => !r.Result.IsIntact))
            {
                await Terminal.WriteErrorLineAsync($"audit chain broken at {(node is null ? "" : $"node {node} ")}seq {chain.BrokenAtSeq}: {chain.Problem}; no checkpoint exported");
            }

            if (results.Any(r => !r.Result.IsIntact))
            {
                return ExitCodes.Failed;
            }

            var latest = results.Select(r => r.Result.LatestCheckpoint).OfType<RecordedCheckpoint>().ToList();
            if (latest.Count == 0)
            {
                await Terminal.WriteErrorLineAsync("no checkpoint in the audit log yet: one is cut every audit.checkpoint.every_events events, or audit.checkpoint.every after events came");
                return ExitCodes.Failed;
            }

            var file = AuditCheckpointFile.Of(latest, TimeProvider.System.GetUtcNow());
            var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
            using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            {
                file.WriteTo(w);
            }

            if (parse.GetValue(output) is { } path)
            {
                await File.WriteAllBytesAsync(path, [.. buffer.WrittenSpan, (byte)'\n'], ct);
                foreach (var c in file.Checkpoints)
                {
                    Terminal.WriteLine($"exported the checkpoint of {(c.Checkpoint.Node is { } n ? $"node {n} " : "")}seq {c.Checkpoint.Seq} (hash {c.Checkpoint.HeadHash}, key {c.Kid}) to {path}");
                }
            }
            else
            {
                // Written as it is (JSON escapes what a terminal could misread), to be redirected into a file.
                await Console.Out.WriteLineAsync(Encoding.UTF8.GetString(buffer.WrittenSpan));
            }

            return ExitCodes.Success;
        }, ct));
        return new Command("checkpoint", "Export the audit log's signed checkpoints") { export };
    }

    private static async Task<AuditCheckpointFile?> ReadCheckpointFileAsync(string path, CancellationToken ct)
    {
        byte[] bytes;
        try
        {
            if (new FileInfo(path).Length > AuditCheckpointFile.MaxBytes)
            {
                await Terminal.WriteErrorLineAsync($"checkpoint file {path} refused: is larger than 1 MiB");
                return null;
            }

            bytes = await File.ReadAllBytesAsync(path, ct);
        }
        catch (IOException ex)
        {
            await Terminal.WriteErrorLineAsync($"checkpoint file {path} cannot be read: {ex.Message}");
            return null;
        }
        catch (UnauthorizedAccessException ex)
        {
            await Terminal.WriteErrorLineAsync($"checkpoint file {path} cannot be read: {ex.Message}");
            return null;
        }

        var file = AuditCheckpointFile.Parse(bytes, out var problem);
        if (file is null)
        {
            await Terminal.WriteErrorLineAsync($"checkpoint file {path} refused: {problem}");
        }

        return file;
    }

    /// <summary>Prints each chain's verification as <c>audit verify</c> always has; false when any is broken.</summary>
    private static async Task<bool> ReportChainsAsync(IReadOnlyList<ChainVerification> results, TimeSpan elapsed)
    {
        if (results is [{ Node: null, Result: var result }])
        {
            if (!result.IsIntact)
            {
                await Terminal.WriteErrorLineAsync($"audit chain broken at seq {result.BrokenAtSeq}: {result.Problem}");
                return false;
            }

            Terminal.WriteLine($"audit chain intact: {result.VerifiedCount} events verified in {elapsed.TotalSeconds:F2}s; head hash {result.HeadHash}");
            ReportCheckpoints(null, result);
            return true;
        }

        // One chain per node: each node's count and head (to compare with copies kept elsewhere), each break by node.
        var intact = true;
        foreach (var (node, chain) in results)
        {
            if (chain.IsIntact)
            {
                Terminal.WriteLine($"node {node}: {chain.VerifiedCount} events verified; head hash {chain.HeadHash}");
                ReportCheckpoints(node, chain);
            }
            else
            {
                intact = false;
                await Terminal.WriteErrorLineAsync($"audit chain broken at node {node} seq {chain.BrokenAtSeq}: {chain.Problem}");
            }
        }

        if (intact)
        {
            Terminal.WriteLine($"audit chain intact: {results.Sum(r => r.Result.VerifiedCount)} events of {results.Count} nodes verified in {elapsed.TotalSeconds:F2}s");
        }

        return intact;
    }

    private static void ReportCheckpoints(string? node, AuditVerification chain)
    {
        if (chain.LatestCheckpoint is { } latest)
        {
            Terminal.WriteLine($"{(node is null ? "" : $"node {node}: ")}{chain.Checkpoints} signed checkpoints verified; the latest, at seq {latest.EventSeq}, signs seq {latest.Checkpoint.Seq} with key {latest.Kid}");
        }
    }

    /// <summary>
    /// Loads the configuration, opens the store read-only (on PostgreSQL in read-only transactions) and
    /// verifies every chain, then hands the store and the results to <paramref name="then"/>. Refusals
    /// are said as <c>audit verify</c> always said them.
    /// </summary>
    private static async Task<int> WithVerifiedLogAsync(string configPath, Func<ITesseraStore, IReadOnlyList<ChainVerification>, TimeSpan, Task<int>> then, CancellationToken ct)
    {
        TesseraConfig loaded;
        try
        {
            loaded = ConfigLoader.LoadFile(configPath);
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
        try
        {
            var results = await AuditVerifier.VerifyAllAsync(store.Audit, ct);
            return await then(store, results, watch.Elapsed);
        }
        catch (System.Data.Common.DbException ex) when (ConfiguredStore.IsShared(loaded))
        {
            await Terminal.WriteErrorLineAsync($"Cannot read the audit log: {ex.Message}");
            return ExitCodes.Failed;
        }
    }
}
