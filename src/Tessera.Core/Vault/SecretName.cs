using System.Text.RegularExpressions;

namespace Tessera.Core.Vault;

/// <summary>Secret names: letters, digits, <c>. _ -</c>, at most 128 characters, so they are safe in paths, logs and bindings.</summary>
public static partial class SecretName
{
    public const string Rule = "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128 characters";

    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex Pattern();
}
