namespace Tessera.Core.Mcp;

/// <summary>
/// A resource URI a rule's pattern is matched against, checked for text a server could read as
/// another resource (docs/mcp.md): a rule such as <c>file:///srv/public/**</c> matches
/// <c>file:///srv/public/../secret</c> as text, and a server that resolves dot segments, decodes
/// <c>%2F</c> before it splits, or takes <c>\</c> for <c>/</c> reads outside it. Such URIs are refused,
/// as the proxy refuses ambiguous paths.
/// </summary>
public static class McpResourceUri
{
    /// <summary>Why <paramref name="uri"/> is ambiguous, or null when it is not.</summary>
    public static string? Ambiguity(ReadOnlySpan<char> uri)
    {
        if (uri.Contains('\\'))
        {
            return "a backslash";
        }

        if (uri.Contains("%2f", StringComparison.OrdinalIgnoreCase) || uri.Contains("%5c", StringComparison.OrdinalIgnoreCase))
        {
            return "an encoded '/' or '\\'";
        }

        if (uri.Contains("%25", StringComparison.Ordinal))
        {
            return "an encoded '%'";
        }

        foreach (var range in uri.Split('/'))
        {
            if (IsDotSegment(uri[range]))
            {
                return "a '.' or '..' segment";
            }
        }

        return null;
    }

    /// <summary>Whether a segment is <c>.</c> or <c>..</c>, a dot possibly written <c>%2e</c>.</summary>
    private static bool IsDotSegment(ReadOnlySpan<char> segment)
    {
        var dots = 0;
        for (var i = 0; i < segment.Length; i++)
        {
            if (segment[i] == '.')
            {
                dots++;
            }
            else if (segment[i] == '%' && i + 2 < segment.Length && segment[i + 1] == '2' && segment[i + 2] is 'e' or 'E')
            {
                dots++;
                i += 2;
            }
            else
            {
                return false;
            }
        }

        return dots is 1 or 2;
    }
}
