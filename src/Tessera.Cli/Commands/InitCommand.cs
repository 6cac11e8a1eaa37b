using System.CommandLine;
using Tessera.Core.Configuration;
using Tessera.Core.Vault;

namespace Tessera.Cli.Commands;

internal static class InitCommand
{
    public static Command Create()
    {
        var dir = new Option<string>("--dir") { Description = "Directory to write tessera.yaml into", DefaultValueFactory = _ => "." };
        var command = new Command("init", "Write a commented sample tessera.yaml") { dir };
        command.SetAction(parse =>
        {
            var path = Path.Combine(parse.GetValue(dir)!, "tessera.yaml");
            if (File.Exists(path))
            {
                Console.Error.WriteLine($"{path} already exists; not overwriting it.");
                return ExitCodes.Failed;
            }

            WriteSample(path, TimeProvider.System);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>
    /// Writes the sample configuration and its demo agent's secret (0600, in the sample's data_dir).
    /// </summary>
    public static void WriteSample(string configPath, TimeProvider time)
    {
        var full = Path.GetFullPath(configPath);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var (yaml, secret) = SampleConfig.Create(time.GetUtcNow());
        var dataDir = Path.Combine(directory, "data");
        PrivateFile.CreateDirectory(dataDir);
        var secretPath = Path.Combine(dataDir, SampleConfig.DemoSecretFileName);
        if (File.Exists(secretPath))
        {
            File.Delete(secretPath);
        }

        PrivateFile.WriteNew(secretPath, secret + "\n");
        File.WriteAllText(full, yaml);
        Console.Error.WriteLine($"Wrote a commented sample configuration to {full}.");
        Console.Error.WriteLine($"The demo agent '{SampleConfig.DemoAgentId}' has a new random secret in {secretPath} (mode 0600).");
    }
}
