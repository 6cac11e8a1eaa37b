using Tessera.Server.Hosting;

namespace Tessera.Server.Tests.Hosting;

/// <summary>Reading whether SIGHUP is ignored from <c>/proc/PID/status</c>, as the node warns at start.</summary>
public sealed class ConfigReloadSignalTests
{
    private static string Status(string mask) => $"Name:\ttessera\nSigBlk:\t0000000000000000\nSigIgn:\t{mask}\nSigCgt:\t0000000000004a02\n";

    [Theory]
    [InlineData("0000000000000001", 1, true)]    // SIGHUP ignored (nohup)
    [InlineData("0000000000001001", 1, true)]    // SIGHUP and SIGPIPE
    [InlineData("0000000000001000", 1, false)]   // SIGPIPE only, as a runtime sets it
    [InlineData("0000000000001000", 13, true)]
    [InlineData("0000000000000000", 1, false)]
    [InlineData("not hex", 1, false)]
    public void The_sigign_mask_is_read_bit_by_signal(string mask, int signal, bool ignored) =>
        Assert.Equal(ignored, ConfigReloadSignal.IsIgnored(Status(mask), signal));

    [Fact]
    public void A_status_without_the_line_says_not_ignored() =>
        Assert.False(ConfigReloadSignal.IsIgnored("Name:\ttessera\n", 1));
}
