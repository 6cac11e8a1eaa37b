namespace Tessera.Core.Tests.Configuration;

public sealed class TimeArgumentsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("1h", "2026-11-29T11:00:00Z")]
    [InlineData("90m", "2026-11-29T10:30:00Z")]
    [InlineData("2026-11-28T08:15:00Z", "2026-11-28T08:15:00Z")]
    [InlineData("2026-11-28T09:15:00.5+01:00", "2026-11-28T08:15:00.5Z")]
    public void Since_takes_a_duration_ago_or_an_rfc3339_time(string text, string expected)
    {
        Assert.True(TimeArguments.TryParseSince(text, Now, out var since));
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), since);
    }

    [Theory]
    [InlineData("12:00")]
    [InlineData("June 30")]
    [InlineData("2026-11-28")]
    [InlineData("2026-11-28T08:15:00")]
    [InlineData("yesterday")]
    [InlineData("")]
    public void Since_refuses_anything_it_would_have_to_guess(string text) =>
        Assert.False(TimeArguments.TryParseSince(text, Now, out _));
}
