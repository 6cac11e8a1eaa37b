using System.CommandLine;

namespace Tessera.Cli;

internal static class CliOptions
{
    public static Option<string> Config() => new("--config", "-c")
    {
        Description = "Path to tessera.yaml",
        DefaultValueFactory = _ => "tessera.yaml",
    };
}
