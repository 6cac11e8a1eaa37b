using System.Globalization;

namespace Tessera.Core.Configuration;

/// <summary>Parses <c>--since</c>: an RFC 3339 time, or a duration meaning "that long ago".</summary>
public static partial class TimeArguments
{
    public static bool TryParseSince(string text, DateTimeOffset now, out DateTimeOffset since)
    {
        if (Durations.TryParse(text, out var ago))
        {
            since = now - ago;
            return true;
        }

        // Only RFC 3339 with an explicit offset: a lenient parse would read "12:00" as today by the system clock.
        since = default;
        return Rfc3339().IsMatch(text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out since);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial System.Text.RegularExpressions.Regex Rfc3339();
}
