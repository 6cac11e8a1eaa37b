namespace Tessera.Core.Tests.Proxy;

/// <summary>
/// The rule matcher as it was before matching became linear: a backtracking search that tries every
/// way <c>**</c> can split the path, so its work grows with the path length to the power of the
/// number of <c>**</c> on a path that almost matches. Kept
/// verbatim (renamed) as the oracle of the differential test: the linear matcher must agree with it
/// on every rule and path.
/// </summary>
internal sealed class BacktrackingPathRule
{
    private readonly string? _method;
    private readonly string[] _segments;

    private BacktrackingPathRule(string text, string? method, string[] segments)
    {
        Text = text;
        _method = method;
        _segments = segments;
    }

    public string Text { get; }

    /// <summary>Parses a rule already validated by the configuration loader.</summary>
    public static BacktrackingPathRule Parse(string rule)
    {
        var space = rule.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || space + 1 >= rule.Length || rule[space + 1] != '/')
        {
            throw new FormatException($"'{rule}' is not METHOD /path");
        }

        var method = rule[..space];
        var path = rule[(space + 2)..];
        return new BacktrackingPathRule(rule, method == "*" ? null : method, path.Length == 0 ? [] : path.Split('/'));
    }

    public bool Matches(string method, string normalizedPath)
    {
        if (_method is not null && !string.Equals(_method, method, StringComparison.Ordinal))
        {
            return false;
        }

        if (normalizedPath.Length == 0 || normalizedPath[0] != '/')
        {
            return false;
        }

        return Match(_segments, 0, normalizedPath.AsSpan(1));
    }

    private static bool Match(string[] pattern, int index, ReadOnlySpan<char> rest)
    {
        while (index < pattern.Length)
        {
            var p = pattern[index];
            if (p == "**")
            {
                // Zero segments, or consume one and try again.
                if (Match(pattern, index + 1, rest))
                {
                    return true;
                }

                if (rest.IsEmpty)
                {
                    return false;
                }

                var slash = rest.IndexOf('/');
                return slash >= 0 ? Match(pattern, index, rest[(slash + 1)..]) : Match(pattern, index + 1, []);
            }

            if (rest.IsEmpty && !(p.Length == 0 && index == pattern.Length - 1))
            {
                return false;
            }

            var end = rest.IndexOf('/');
            var segment = end >= 0 ? rest[..end] : rest;
            if (p == "*" ? segment.IsEmpty : !segment.SequenceEqual(p))
            {
                return false;
            }

            rest = end >= 0 ? rest[(end + 1)..] : [];
            index++;
            if (end >= 0 && rest.IsEmpty && index == pattern.Length)
            {
                // A trailing slash the pattern does not have.
                return false;
            }
        }

        return rest.IsEmpty;
    }
}
