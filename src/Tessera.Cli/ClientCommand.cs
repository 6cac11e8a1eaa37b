using Tessera.Core.Configuration;

namespace Tessera.Cli;

/// <summary>Runs a client command with the shared error handling: refusals print one line and exit 1.</summary>
internal static class ClientCommand
{
    public static async Task<int> RunAsync(string configPath, Func<AdminClient, Task<int>> action)
    {
        try
        {
            using var client = AdminClient.Create(configPath);
            return await action(client);
        }
        catch (CliException ex)
        {
            await Terminal.WriteErrorLineAsync(ex.Message);
            return ExitCodes.Failed;
        }
        catch (ConfigException ex)
        {
            await Terminal.WriteErrorLineAsync($"Configuration refused: {ex.Message}");
            return ExitCodes.For(ex);
        }
    }
}
