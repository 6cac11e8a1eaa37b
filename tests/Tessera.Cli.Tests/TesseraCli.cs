namespace Tessera.Cli.Tests;

/// <summary>Runs the <c>tessera</c> command in this process with stdout and stderr captured (tests in the Console collection).</summary>
internal static class TesseraCli
{
    public static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var originalOut = Console.Out;
        var originalError = Console.Error;
        var stdout = new StringWriter(new StringBuilder()) { NewLine = "\n" };
        var stderr = new StringWriter(new StringBuilder()) { NewLine = "\n" };
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            var exit = await Program.Main(args);
            return (exit, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(originalOut);
            Console.SetError(originalError);
        }
    }

    /// <summary>The lines of captured output, without the final line break.</summary>
    public static string[] Lines(string output) => output.Length == 0 ? [] : output.TrimEnd('\n').Split('\n');
}
