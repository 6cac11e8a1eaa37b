using Tessera.Core.Configuration;

namespace Tessera.Cli;

internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    /// <summary>
    /// <c>tessera reload</c> only: the file is valid, but the running server cannot take it by a
    /// reload (409: it changes a setting that takes a restart, or the server runs without a file).
    /// Apart from 1 (an invalid file, or no answer) because what to do next differs: restart
    /// rather than fix the file.
    /// </summary>
    public const int Conflict = 3;

    /// <summary>A file that is not YAML at all is malformed input, like a malformed command line (2); valid YAML that Tessera refuses is 1.</summary>
    public static int For(ConfigException refused) => refused.IsSyntaxError ? Usage : Failed;
}
