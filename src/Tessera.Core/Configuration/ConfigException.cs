namespace Tessera.Core.Configuration;

/// <summary>
/// An invalid configuration. The message names the file, the path inside it and what is wrong,
/// for example <c>tessera.yaml:31: agents[2].owner: is required</c>, or for text that is not YAML
/// at all the line and column: <c>tessera.yaml:4:1: not valid YAML: ...</c>.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string file, string path, string problem, int? line = null)
        : this(file, path, problem, line, null, isSyntaxError: false)
    {
    }

    private ConfigException(string file, string path, string problem, int? line, int? column, bool isSyntaxError)
        : base(Format(file, path, problem, line, column))
    {
        File = file;
        PathInFile = path;
        Problem = problem;
        Line = line;
        Column = column;
        IsSyntaxError = isSyntaxError;
    }

    public string File { get; }
    public string PathInFile { get; }
    public string Problem { get; }
    public int? Line { get; }

    /// <summary>The column of a YAML syntax error (1-based); null for other mistakes.</summary>
    public int? Column { get; }

    /// <summary>The file is not valid YAML (as opposed to valid YAML that Tessera refuses); the CLI exits 2 for it.</summary>
    public bool IsSyntaxError { get; }

    /// <summary>A YAML syntax error at a line and column.</summary>
    public static ConfigException Syntax(string file, string problem, int line, int column) =>
        new(file, "", problem, line, column, isSyntaxError: true);

    private static string Format(string file, string path, string problem, int? line, int? column)
    {
        var where = (line, column) switch
        {
            ({ } l, { } c) => $"{file}:{l}:{c}",
            ({ } l, null) => $"{file}:{l}",
            _ => file,
        };
        return path.Length == 0 ? $"{where}: {problem}" : $"{where}: {path}: {problem}";
    }
}
