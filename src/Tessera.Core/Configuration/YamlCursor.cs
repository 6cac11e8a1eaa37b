using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Tessera.Core.Configuration;

/// <summary>
/// A position in the YAML document with its path (<c>agents[2].owner</c>). YamlDotNet parses;
/// this walker binds and validates by hand because a mistake must be reported with the exact
/// path and line, and unknown keys (typos) must be refused, which a plain deserializer does not do.
/// </summary>
internal readonly struct YamlCursor
{
    private readonly string _file;

    public YamlCursor(string file, string path, YamlNode? node)
    {
        _file = file;
        Path = path;
        Node = node;
    }

    public string Path { get; }
    public YamlNode? Node { get; }
    public bool IsMissing => Node is null || (Node is YamlScalarNode s && s.Style == YamlDotNet.Core.ScalarStyle.Plain && (s.Value is null || s.Value == "~" || s.Value == "null" || s.Value.Length == 0));

    public ConfigException Error(string problem) =>
        new(_file, Path, problem, Line);

    /// <summary>Accepted, but worth an operator's attention: named like an error.</summary>
    public ConfigWarning Warning(string code, string problem) => new(code, _file, Path, problem, Line);

    private int? Line => Node is null ? null : (int)Node.Start.Line;

    public YamlCursor Child(string key)
    {
        var map = AsMapping();
        map.Children.TryGetValue(new YamlScalarNode(key), out var child);
        return new YamlCursor(_file, Path.Length == 0 ? key : $"{Path}.{key}", child);
    }

    public YamlMappingNode AsMapping()
    {
        if (Node is YamlMappingNode map)
        {
            return map;
        }

        throw Error("must be a mapping (key: value)");
    }

    /// <summary>Refuses keys this section does not know, so a typo never silently disables a rule.</summary>
    public void OnlyKeys(params string[] allowed)
    {
        foreach (var key in AsMapping().Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? "";
            if (Array.IndexOf(allowed, name) < 0)
            {
                var path = Path.Length == 0 ? name : $"{Path}.{name}";
                throw new ConfigException(_file, path, $"unknown key; expected one of: {string.Join(", ", allowed)}", (int)key.Start.Line);
            }
        }
    }

    public IEnumerable<YamlCursor> Items()
    {
        if (IsMissing)
        {
            yield break;
        }

        if (Node is not YamlSequenceNode seq)
        {
            throw Error("must be a list");
        }

        for (var i = 0; i < seq.Children.Count; i++)
        {
            yield return new YamlCursor(_file, $"{Path}[{i}]", seq.Children[i]);
        }
    }

    public IEnumerable<(string Key, YamlCursor Value)> Entries()
    {
        if (IsMissing)
        {
            yield break;
        }

        foreach (var (key, value) in AsMapping().Children)
        {
            var name = (key as YamlScalarNode)?.Value ?? throw Error("keys must be plain text");
            yield return (name, new YamlCursor(_file, $"{Path}.{name}", value));
        }
    }

    public string RequiredString()
    {
        if (IsMissing)
        {
            throw Error("is required");
        }

        var value = Scalar().Trim();
        return value.Length == 0 ? throw Error("is required and must not be empty") : value;
    }

    public string? OptionalString() => IsMissing ? null : RequiredString();

    public bool OptionalBool(bool fallback)
    {
        if (IsMissing)
        {
            return fallback;
        }

        return Scalar() switch
        {
            "true" => true,
            "false" => false,
            _ => throw Error("must be true or false"),
        };
    }

    public int OptionalInt(int fallback, int min, int max)
    {
        if (IsMissing)
        {
            return fallback;
        }

        if (!int.TryParse(Scalar(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw Error($"must be a whole number from {min} to {max}");
        }

        return value;
    }

    public TimeSpan OptionalDuration(TimeSpan fallback)
    {
        if (IsMissing)
        {
            return fallback;
        }

        return Durations.TryParse(Scalar(), out var value) && value > TimeSpan.Zero
            ? value
            : throw Error($"'{Scalar()}' is not a duration; write a number with s, m, h or d (for example 5m)");
    }

    public IReadOnlyList<string> StringList()
    {
        var list = new List<string>();
        foreach (var item in Items())
        {
            list.Add(item.RequiredString());
        }

        return list;
    }

    private string Scalar() => Node is YamlScalarNode s ? s.Value ?? "" : throw Error("must be a single value, not a list or mapping");
}
