using System.Text;
using Tessera.Core.Configuration;

namespace Tessera.Fuzz.Targets;

/// <summary>
/// The configuration loader: any text gives a configuration or a <see cref="ConfigException"/> naming
/// the file, path and line, the one exception it documents for bad input.
/// </summary>
internal static class ConfigTarget
{
    /// <summary>Relative paths in a config (key files) resolve here, where nothing exists.</summary>
    private static readonly string BaseDirectory = Path.Combine(Path.GetTempPath(), "tessera-fuzz-config-" + Environment.ProcessId);

    public static void Run(ReadOnlySpan<byte> input)
    {
        var yaml = Encoding.UTF8.GetString(input);
        try
        {
            _ = ConfigLoader.Load(yaml, "tessera.yaml", BaseDirectory, null, FixedClock.Instance);
        }
        catch (ConfigException)
        {
            // the documented refusal of a configuration
        }
    }
}
