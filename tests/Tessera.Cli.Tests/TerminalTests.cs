namespace Tessera.Cli.Tests;

public sealed class TerminalTests
{
    [Fact]
    public void Json_output_escapes_control_and_format_characters_even_when_the_server_sent_them_raw()
    {
        // JSON allows a raw U+202E inside a string; only control characters must be escaped.
        using var received = JsonDocument.Parse("{\"agent\":\"a\u202eb\u200b\",\"reason\":\"x\\u001b[2Ky\",\"n\":[1,2.5,null,true]}");

        var line = Terminal.Json(received.RootElement);

        Assert.Equal("{\"agent\":\"a\\u202Eb\\u200B\",\"reason\":\"x\\u001B[2Ky\",\"n\":[1,2.5,null,true]}", line);
        using var back = JsonDocument.Parse(line);
        Assert.Equal("a\u202eb\u200b", back.RootElement.GetProperty("agent").GetString());
        Assert.Equal("x\u001b[2Ky", back.RootElement.GetProperty("reason").GetString());
    }
}
