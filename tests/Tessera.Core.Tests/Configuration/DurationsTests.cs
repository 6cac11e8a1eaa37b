namespace Tessera.Core.Tests.Configuration;

public sealed class DurationsTests
{
    [Theory]
    [InlineData(30 * 86400, "30d")]
    [InlineData(86400, "1d")]
    [InlineData(7200, "2h")]
    [InlineData(90000, "25h")]
    [InlineData(600, "10m")]
    [InlineData(61, "61s")]
    public void Format_uses_the_largest_whole_unit(int seconds, string expected) =>
        Assert.Equal(expected, Durations.Format(TimeSpan.FromSeconds(seconds)));
}
