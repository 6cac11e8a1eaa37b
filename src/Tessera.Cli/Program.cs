using System.CommandLine;
using Tessera.Cli.Commands;

namespace Tessera.Cli;

/// <summary>The <c>tessera</c> command. Exit codes: 0 success, 1 refused or failed, 2 usage error, 3 a reload that takes a restart.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("Tessera: a credential broker for AI agents.");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(InitCommand.Create());
        root.Subcommands.Add(KeysCommand.Create());
        root.Subcommands.Add(AuditCommand.Create());
        root.Subcommands.Add(RevokeCommand.Create());
        root.Subcommands.Add(AgentCommand.Create());
        root.Subcommands.Add(ApprovalCommand.Create());
        root.Subcommands.Add(LeaseCommand.Create());
        root.Subcommands.Add(SecretCommand.Create());
        root.Subcommands.Add(VaultCommand.Create());
        root.Subcommands.Add(StorageCommand.Create());
        root.Subcommands.Add(PostureCommand.Create());
        root.Subcommands.Add(ReloadCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await Terminal.WriteErrorLineAsync(error.Message);
            }

            await Console.Error.WriteLineAsync("Run 'tessera --help' for usage.");
            return ExitCodes.Usage;
        }

        // serve lets the web host own SIGTERM so it can drain; System.CommandLine must not race it.
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }
}
