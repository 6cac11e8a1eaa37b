using System.CommandLine;
using Tessera.Core.Configuration;
using Tessera.Core.Storage;
using Tessera.Core.Identity;
using Tessera.Core.Vault;
using Tessera.Server.Hosting;

namespace Tessera.Cli.Commands;

internal static class ServeCommand
{
    public static Command Create()
    {
        var config = CliOptions.Config();
        var command = new Command("serve", "Run the broker (embedded SQLite by default, or one node of an installation on PostgreSQL)") { config };
        command.SetAction(parse => RunAsync(parse.GetValue(config)!));
        return command;
    }

    private static async Task<int> RunAsync(string configPath)
    {
        if (!File.Exists(configPath))
        {
            Console.Error.WriteLine($"No configuration at {Path.GetFullPath(configPath)}: writing the sample first.");
            InitCommand.WriteSample(configPath, TimeProvider.System);
        }

        TesseraConfig config;
        try
        {
            config = ConfigLoader.LoadFile(configPath);
        }
        catch (ConfigException ex)
        {
            Console.Error.WriteLine($"Configuration refused: {ex.Message}");
            return ExitCodes.For(ex);
        }

        if (config.Console.Oidc is { } oidc && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(oidc.ClientSecretEnv)))
        {
            Console.Error.WriteLine($"Start-up refused: console.oidc.client_secret_env names {oidc.ClientSecretEnv}, which is not set: set it to the console's client secret at the identity provider '{oidc.Idp}'.");
            return ExitCodes.Failed;
        }

        var now = TimeProvider.System.GetUtcNow();
        foreach (var agent in config.Agents.Where(a => a.Expires <= now))
        {
            Console.Error.WriteLine($"warning: agent '{agent.Id}' expired on {agent.Expires:yyyy-MM-dd}; it cannot authenticate until its owner ({agent.Owner}) renews it.");
        }

        // One server per data directory: two writers would fork the audit hash chain. The directory
        // holds the master key, the bootstrap token and (by default) the database: owner only.
        PrivateFile.CreateDirectory(config.DataDir);
        FileStream serverLock;
        try
        {
            var lockPath = Path.Combine(config.DataDir, "tessera.lock");
            PrivateFile.Restrict(lockPath);
            serverLock = PrivateFile.OpenExclusive(lockPath);
        }
        catch (IOException)
        {
            Console.Error.WriteLine($"Another tessera serve is using {config.DataDir}; stop it first.");
            return ExitCodes.Failed;
        }

        await using var heldLock = serverLock;
        MasterKey masterKey;
        try
        {
            if (config.Server.BootstrapAdminToken)
            {
                // Checked here too (the host reads it again) so a refusal is one line, not a hosting failure.
                _ = AdminAuthenticator.EnsureBootstrapToken(config.DataDir);
            }

            masterKey = MasterKey.Load(config.DataDir, Environment.GetEnvironmentVariable(MasterKey.EnvironmentVariable));
        }
        catch (InvalidOperationException ex)
        {
            // A malformed master key, or a key or token file others may read or write: refused, never replaced or used.
            Console.Error.WriteLine($"Start-up refused: {ex.Message}");
            return ExitCodes.Failed;
        }

        using var ownedKey = masterKey;
        ITesseraStore opened;
        try
        {
            opened = ConfiguredStore.Open(config);
        }
        catch (ConfigException ex)
        {
            Console.Error.WriteLine($"Configuration refused: {ex.Message}");
            return ExitCodes.For(ex);
        }

        await using var store = opened;
        if (ConfiguredStore.IsShared(config))
        {
            // Reach the database (and bring its schema up to date) before hosting starts, so a database
            // that is down or refuses us is one line, not a hosting failure; the start-up checks migrate again, finding nothing to do.
            try
            {
                await store.MigrateAsync(CancellationToken.None);
            }
            catch (System.Data.Common.DbException ex)
            {
                // Npgsql's messages name the host, never the password.
                Console.Error.WriteLine($"Storage unavailable: {ex.Message}");
                return ExitCodes.Failed;
            }
        }

        var app = TesseraHost.Build(config, store, masterKey, TimeProvider.System);
        Console.Error.WriteLine($"Tessera listening on {config.Server.Listen} (issuer {config.Server.Issuer}); master key from {masterKey.Source}.");
        if (config.Server.BootstrapAdminToken)
        {
            Console.Error.WriteLine($"Admin API bootstrap token: {Path.Combine(config.DataDir, "admin.token")}");
        }

        try
        {
            // The host handles SIGTERM/SIGINT itself: it stops accepting, drains requests and the audit queue, then returns.
            await app.RunAsync();
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"Cannot listen on {config.Server.Listen}: {ex.Message}");
            return ExitCodes.Failed;
        }
        catch (InvalidOperationException ex)
        {
            Console.Error.WriteLine($"Start-up failed: {ex.Message}");
            return ExitCodes.Failed;
        }

        return ExitCodes.Success;
    }
}
