using System.Text;

namespace Tessera.Core.Mcp;

/// <summary>
/// The value of an <c>Mcp-Method</c> or <c>Mcp-Name</c> header as MCP writes it: visible ASCII as
/// itself, anything else (a name in another script, leading spaces) as <c>=?base64?...?=</c>, the
/// UTF-8 bytes in base64, markers in lower case.
/// </summary>
public static class McpHeaderValue
{
    private const string Open = "=?base64?";
    private const string Close = "?=";

    /// <summary>The text the header stands for, or null when its encoded form is broken (which matches nothing).</summary>
    public static string? Decode(string? value)
    {
        if (value is null || !value.StartsWith(Open, StringComparison.Ordinal) || !value.EndsWith(Close, StringComparison.Ordinal) || value.Length < Open.Length + Close.Length)
        {
            return value;
        }

        var encoded = value.AsSpan(Open.Length, value.Length - Open.Length - Close.Length);
        var bytes = new byte[(encoded.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64Chars(encoded, bytes, out var written))
        {
            return null;
        }

        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, 0, written);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
