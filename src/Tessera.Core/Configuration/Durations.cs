using System.Globalization;

namespace Tessera.Core.Configuration;

/// <summary>Durations as written in tessera.yaml and on the command line: <c>90s</c>, <c>5m</c>, <c>1h30m</c>, <c>2d</c>.</summary>
public static class Durations
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 32)
        {
            return false;
        }

        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            if (i == start || i == text.Length)
            {
                return false;
            }

            if (!long.TryParse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 100_000)
            {
                return false;
            }

            var unit = text[i++] switch
            {
                's' => TimeSpan.FromSeconds(1),
                'm' => TimeSpan.FromMinutes(1),
                'h' => TimeSpan.FromHours(1),
                'd' => TimeSpan.FromDays(1),
                _ => TimeSpan.Zero,
            };
            if (unit == TimeSpan.Zero)
            {
                return false;
            }

            value += unit * n;
        }

        return true;
    }

    public static string Format(TimeSpan value) =>
        value.TotalSeconds % 86400 == 0 ? $"{(long)value.TotalDays}d"
        : value.TotalSeconds % 3600 == 0 ? $"{(long)value.TotalHours}h"
        : value.TotalSeconds % 60 == 0 ? $"{(long)value.TotalMinutes}m"
        : $"{(long)value.TotalSeconds}s";
}
