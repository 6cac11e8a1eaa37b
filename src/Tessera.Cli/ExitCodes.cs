using Tessera.Core.Configuration;

namespace Tessera.Cli;

internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    /// <summary>A file that is not YAML at all is malformed input, like a malformed command line (2); valid YAML that Tessera refuses is 1.</summary>
    public static int For(ConfigException refused) => refused.IsSyntaxError ? Usage : Failed;
}
