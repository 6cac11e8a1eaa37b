using System.Reflection;
using System.Text.RegularExpressions;

namespace Tessera.Core.Tests.Protocol;

public sealed partial class RefusalCodesTests
{
    private static readonly string[] Codes = [.. typeof(RefusalCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)];

    [GeneratedRegex("^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$")]
    private static partial Regex DottedSnakeCase();

    [Fact]
    public void Every_code_is_dotted_snake_case_and_names_one_rule()
    {
        Assert.NotEmpty(Codes);
        Assert.All(Codes, code => Assert.Matches(DottedSnakeCase(), code));
        Assert.Equal(Codes.Length, Codes.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Every_code_is_documented_in_the_refusals_reference_and_nothing_else_is()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Tessera.slnx")))
        {
            directory = directory.Parent;
        }

        Assert.NotNull(directory);
        var reference = File.ReadAllText(Path.Combine(directory.FullName, "docs", "reference", "refusals.md"));

        // A table row starts with the code in backticks.
        var documented = Regex.Matches(reference, "^\\| `([a-z0-9_.]+)` \\|", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(Codes.Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
    }
}
