using System.Globalization;

namespace Tessera.Core.Configuration;

/// <summary>Parses <c>--since</c>: an RFC 3339 time, or a duration meaning "that long ago".</summary>
public static class TimeArguments
{
    public static bool TryParseSince(string text, DateTimeOffset now, out DateTimeOffset since)
    {
        if (Durations.TryParse(text, out var ago))
        {
            since = now - ago;
            return true;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out since);
    }
}
