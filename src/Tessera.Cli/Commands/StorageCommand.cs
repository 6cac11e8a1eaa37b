using System.CommandLine;
using System.Data.Common;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Storage;
using Tessera.Storage.Postgres;
using Tessera.Storage.Sqlite;

namespace Tessera.Cli.Commands;

/// <summary>
/// <c>tessera storage migrate|copy</c>: offline work on the database itself, without a running
/// broker. What is copied and what "empty" means are the storage's rules (<see cref="PostgresTesseraStore.ImportAsync"/>);
/// this command checks the source, runs the copy and tells the operator what happened.
/// </summary>
internal static class StorageCommand
{
    public static Command Create() => new("storage", "Migrate the configured database, or copy an embedded installation to PostgreSQL") { CreateMigrate(), CreateCopy() };

    private static Command CreateMigrate()
    {
        var config = CliOptions.Config();
        var command = new Command("migrate", "Apply the configured storage's pending schema migrations and nothing else (start-up applies them too)") { config };
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

            try
            {
                await using var store = ConfiguredStore.Open(loaded);
                var migration = await store.MigrateAsync(ct);
                var what = ConfiguredStore.IsShared(loaded) ? "PostgreSQL schema" : "SQLite schema";
                Terminal.WriteLine(migration.WasCurrent
                    ? $"{what} is current (version {migration.ToVersion}); nothing applied"
                    : $"{what} migrated from version {migration.FromVersion} to {migration.ToVersion} ({migration.ToVersion - migration.FromVersion} applied)");
                return ExitCodes.Success;
            }
            catch (ConfigException ex)
            {
                await Terminal.WriteErrorLineAsync($"Configuration refused: {ex.Message}");
                return ExitCodes.For(ex);
            }
            catch (Exception ex) when (ex is DbException or InvalidOperationException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                // Npgsql's and SQLite's messages name the host or file, never the password; a newer schema is an InvalidOperationException.
                await Terminal.WriteErrorLineAsync($"Migration refused: {ex.Message}");
                return ExitCodes.Failed;
            }
        });
        return command;
    }

    private static Command CreateCopy()
    {
        var from = new Option<string>("--from") { Description = "The embedded database: sqlite:PATH (stop every tessera serve on it first)", Required = true };
        var to = new Option<string>("--to") { Description = "An empty PostgreSQL database: postgres://user@host[:port]/database (password from TESSERA_DB_PASSWORD)", Required = true };
        var node = new Option<string>("--node")
        {
            Description = "The node whose audit chain the copied events become (cluster.node_id of the node that continues it; default: this host's name)",
            DefaultValueFactory = _ => ClusterOptions.DefaultNodeId,
        };
        var command = new Command("copy", "Copy an embedded (SQLite) installation into an empty PostgreSQL database, in one transaction") { from, to, node };
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                return await CopyAsync(parse.GetValue(from)!, parse.GetValue(to)!, parse.GetValue(node)!, ct);
            }
            catch (Exception ex) when (ex is StoreCopyRefusedException or DbException or InvalidOperationException or ArgumentException or IOException)
            {
                // Npgsql's messages name the host, never the password; the refusals say that nothing was copied.
                await Terminal.WriteErrorLineAsync($"Copy refused: {ex.Message}");
                return ExitCodes.Failed;
            }
        });
        return command;
    }

    private static async Task<int> CopyAsync(string from, string to, string node, CancellationToken ct)
    {
        if (!from.StartsWith("sqlite:", StringComparison.Ordinal))
        {
            await Terminal.WriteErrorLineAsync("--from must be sqlite:PATH (the embedded database).");
            return ExitCodes.Usage;
        }

        if (to.StartsWith("sqlite:", StringComparison.Ordinal) || string.IsNullOrWhiteSpace(node))
        {
            await Terminal.WriteErrorLineAsync(string.IsNullOrWhiteSpace(node) ? "--node must name a node." : "--to must be a PostgreSQL database (postgres://...).");
            return ExitCodes.Usage;
        }

        var path = from["sqlite:".Length..];
        if (!File.Exists(path))
        {
            await Terminal.WriteErrorLineAsync($"No database at {Path.GetFullPath(path)}.");
            return ExitCodes.Failed;
        }

        // A broken chain is not carried over: the copy would make it look like history the nodes vouch for.
        await using var source = SqliteTesseraStore.FromLocation(from, readOnly: true);
        var verification = await AuditVerifier.VerifyAsync(source.Audit, ct);
        if (!verification.IsIntact)
        {
            await Terminal.WriteErrorLineAsync($"Copy refused: the source's audit chain is broken at seq {verification.BrokenAtSeq}: {verification.Problem}; nothing was copied");
            return ExitCodes.Failed;
        }

        await using var target = PostgresTesseraStore.FromLocation(to, node);
        await target.MigrateAsync(ct);
        await using var snapshot = await source.OpenSnapshotAsync(ct);
        var result = await target.ImportAsync(snapshot, new AuditHead(verification.VerifiedCount, verification.HeadHash!), TimeProvider.System.GetUtcNow(), ct);

        Terminal.WriteLine($"copied {Path.GetFullPath(path)} into PostgreSQL in one transaction:");
        foreach (var (table, rows) in result.Rows)
        {
            Terminal.WriteLine($"  {table}: {rows}");
        }

        Terminal.WriteLine($"audit chain of {result.AuditHead.Seq} events (verified; head hash {result.AuditHead.Hash}) is now the chain of node '{result.Node}': start that node with cluster.node_id: {result.Node} to continue it");
        Terminal.WriteLine("signing keys and vault secrets were copied sealed: every node must use this installation's master key (data_dir/master.key or TESSERA_MASTER_KEY)");
        return ExitCodes.Success;
    }
}
