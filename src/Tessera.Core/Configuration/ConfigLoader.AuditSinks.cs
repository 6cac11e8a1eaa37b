using System.Globalization;

namespace Tessera.Core.Configuration;

public static partial class ConfigLoader
{
    private sealed partial class Binder
    {
        /// <summary>Binds <c>audit.sinks</c>: a list of file and stdout sinks, each with a distinct name.</summary>
        private List<AuditSinkOptions> BindAuditSinks(YamlCursor audit)
        {
            var sinks = new List<AuditSinkOptions>();
            if (audit.IsMissing)
            {
                return sinks;
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            var paths = new HashSet<string>(StringComparer.Ordinal);
            var stdout = false;
            foreach (var c in audit.Child("sinks").Items())
            {
                var type = c.Child("type").RequiredString();
                AuditSinkOptions sink;
                switch (type)
                {
                    case "file":
                        c.OnlyKeys("type", "name", "path", "max_size", "keep");
                        var path = ResolvePath(c.Child("path").RequiredString());
                        if (!paths.Add(path))
                        {
                            throw c.Child("path").Error($"another sink already writes to {path}");
                        }

                        sink = new AuditSinkOptions(Name(c, "file"), AuditSinkKind.File, path, Size(c.Child("max_size")), c.Child("keep").OptionalInt(AuditSinkOptions.DefaultKeep, 1, 1000));
                        break;
                    case "stdout":
                        c.OnlyKeys("type", "name");

                        // Two sinks on one stream would interleave every line twice.
                        if (stdout)
                        {
                            throw c.Child("type").Error("only one sink may write to standard output");
                        }

                        stdout = true;
                        sink = new AuditSinkOptions(Name(c, "stdout"), AuditSinkKind.Stdout, null, 0, 0);
                        break;
                    default:
                        throw c.Child("type").Error($"unknown sink type '{type}'; expected file or stdout");
                }

                // The name keys the sink's cursor file: two sinks sharing one would skip each other's events.
                if (!names.Add(sink.Name))
                {
                    throw c.Error($"another sink is already named '{sink.Name}'; give each sink its own name");
                }

                sinks.Add(sink);
            }

            return sinks;
        }

        private static string Name(YamlCursor c, string fallback)
        {
            var name = c.Child("name").OptionalString() ?? fallback;
            return IdPattern().IsMatch(name) ? name : throw c.Child("name").Error("must be 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit");
        }

        /// <summary>A size in bytes: a whole number with an optional unit KB, MB or GB (powers of 1024).</summary>
        private static long Size(YamlCursor c)
        {
            if (c.IsMissing)
            {
                return AuditSinkOptions.DefaultMaxSize;
            }

            var text = c.RequiredString();
            var (digits, factor) = text switch
            {
                _ when text.EndsWith("GB", StringComparison.Ordinal) => (text[..^2], 1L << 30),
                _ when text.EndsWith("MB", StringComparison.Ordinal) => (text[..^2], 1L << 20),
                _ when text.EndsWith("KB", StringComparison.Ordinal) => (text[..^2], 1L << 10),
                _ => (text, 1L),
            };
            return long.TryParse(digits.TrimEnd(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                && value <= long.MaxValue / factor && value * factor >= AuditSinkOptions.MinMaxSize
                ? value * factor
                : throw c.Error($"'{text}' is not a size of at least 1KB; write a whole number of bytes, or with KB, MB or GB (for example 100MB)");
        }
    }
}
