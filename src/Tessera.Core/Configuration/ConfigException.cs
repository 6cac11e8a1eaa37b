namespace Tessera.Core.Configuration;

/// <summary>
/// An invalid configuration. The message names the file, the path inside it and what is wrong,
/// for example <c>tessera.yaml: agents[2].owner: is required</c>.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string file, string path, string problem, int? line = null)
        : base(Format(file, path, problem, line))
    {
        File = file;
        PathInFile = path;
        Problem = problem;
        Line = line;
    }

    public string File { get; }
    public string PathInFile { get; }
    public string Problem { get; }
    public int? Line { get; }

    private static string Format(string file, string path, string problem, int? line)
    {
        var where = line is { } l ? $"{file}:{l}" : file;
        return path.Length == 0 ? $"{where}: {problem}" : $"{where}: {path}: {problem}";
    }
}
