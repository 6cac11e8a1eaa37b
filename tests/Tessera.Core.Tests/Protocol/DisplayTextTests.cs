using System.Globalization;
using CsCheck;

namespace Tessera.Core.Tests.Protocol;

public sealed class DisplayTextTests
{
    [Theory]
    [InlineData("short", 10, "short")]
    [InlineData("exactly-10", 10, "exactly-10")]
    [InlineData("eleven-char", 10, "eleven-cha…")]
    public void Clip_keeps_at_most_max_characters_and_marks_what_it_cut(string value, int max, string expected) =>
        Assert.Equal(expected, DisplayText.Clip(value, max));

    [Fact]
    public void Clip_defaults_to_a_hundred_characters() =>
        Assert.Equal(new string('x', 100) + "…", DisplayText.Clip(new string('x', 250)));

    [Theory]
    [InlineData("line\nforged", "line\\nforged")]
    [InlineData("cr\r\nlf", "cr\\r\\nlf")]
    [InlineData("tab\there", "tab\\there")]
    [InlineData("nul\0", "nul\\x00")]
    [InlineData("\u001b[2J\u001b[1;1H", "\\x1b[2J\\x1b[1;1H")]
    [InlineData("delete\u007f", "delete\\x7f")]
    [InlineData("csi\u009b31m next\u0085line", "csi\\x9b31m next\\x85line")]
    [InlineData("refund \u202egnp.4711\u202c", "refund \\u202egnp.4711\\u202c")]
    [InlineData("isolate \u2066x\u2069", "isolate \\u2066x\\u2069")]
    [InlineData("zero\u200bwidth\u200d\ufeff", "zero\\u200bwidth\\u200d\\ufeff")]
    [InlineData("line\u2028para\u2029", "line\\u2028para\\u2029")]
    [InlineData("soft\u00adhyphen", "soft\\xadhyphen")]
    [InlineData("tag \U000E0061\U000E007F", "tag \\U000e0061\\U000e007f")]
    [InlineData("a\\nb", "a\\\\nb")]
    [InlineData("C:\\data", "C:\\\\data")]
    public void Hidden_characters_and_backslashes_become_visible_escapes(string text, string expected) =>
        Assert.Equal(expected, DisplayText.Escape(text));

    [Fact]
    public void A_lone_surrogate_is_escaped_and_the_text_after_it_kept()
    {
        Assert.Equal("a\\ud800b", DisplayText.Escape("a\ud800b"));
        Assert.Equal("a\\udc00", DisplayText.Escape("a\udc00"));
        Assert.Equal("\\ud83d", DisplayText.Escape("\ud83d"));
    }

    [Theory]
    [InlineData("support-agent")]
    [InlineData("GET /contacts/** {\"a\": [1]} ~!@#$%^&*()_+`")]
    [InlineData("")]
    public void Printable_ascii_is_returned_as_the_same_instance(string text) =>
        Assert.Same(text, DisplayText.Escape(text));

    [Theory]
    [InlineData("café über straße")]
    [InlineData("日本語のテキスト")]
    [InlineData("emoji 😀 and 👩‍💻")]
    [InlineData("non-breaking\u00a0space")]
    public void Visible_non_ascii_text_is_shown_as_it_is(string text)
    {
        // A zero-width joiner is a format character: the emoji sequence shows its parts, joined by an escape.
        var expected = text.Replace("\u200d", "\\u200d", StringComparison.Ordinal);
        Assert.Equal(expected, DisplayText.Escape(text));
    }

    [Fact]
    public void Null_stays_null() => Assert.Null(DisplayText.Escape(null));

    [Fact]
    public void Escaped_text_is_displayable_and_reads_back_to_the_original()
    {
        // Every kind of hidden character next to ordinary ones, backslashes and text that looks like an escape.
        var pieces = Gen.OneOfConst("a", "é", "😀", "\\", "\\n", "\\x1b", "\n", "\r", "\t", "\0", "\u001b", "\u007f", "\u0085", "\u009b",
            "\u202e", "\u2066", "\u200b", "\ufeff", "\u2028", "\u2029", "\U000E0041", "\ud800", "\udfff", "u202e", "x");
        pieces.Array[0, 30].Select(p => string.Concat(p)).Sample(text =>
        {
            var escaped = DisplayText.Escape(text);
            Assert.True(DisplayText.IsDisplayable(escaped, int.MaxValue), escaped);
            Assert.Equal(text, Unescape(escaped));
        }, iter: 20_000);
    }

    [Theory]
    [InlineData("customer 4711 asked for their data")]
    [InlineData("café, 日本語, emoji 😀, a\\backslash")]
    [InlineData("")]
    public void Visible_text_within_the_limit_is_displayable(string text) =>
        Assert.True(DisplayText.IsDisplayable(text, 64));

    [Theory]
    [InlineData("line\nforged")]
    [InlineData("\u001b[31mred")]
    [InlineData("next\u0085line")]
    [InlineData("refund \u202egnp")]
    [InlineData("zero\u200bwidth")]
    [InlineData("line\u2028separator")]
    [InlineData("smuggled \U000E0061\U000E0070\U000E0070\U000E0072\U000E006F\U000E0076\U000E0065")]
    public void Text_with_a_hidden_character_is_not_displayable(string text) =>
        Assert.False(DisplayText.IsDisplayable(text, 1000));

    [Fact]
    public void Text_with_a_lone_surrogate_is_not_displayable()
    {
        // Not theory data: a lone surrogate does not survive being serialized into a test case.
        Assert.False(DisplayText.IsDisplayable("lone \ud800 surrogate", 1000));
        Assert.False(DisplayText.IsDisplayable("lone low \udc00", 1000));
        Assert.False(DisplayText.IsDisplayable("\ud83d", 1000));
    }

    [Fact]
    public void Text_over_the_limit_is_not_displayable()
    {
        Assert.True(DisplayText.IsDisplayable(new string('r', 512), 512));
        Assert.False(DisplayText.IsDisplayable(new string('r', 513), 512));
    }

    /// <summary>The inverse of <see cref="DisplayText.Escape"/>, to show that no two texts are shown alike.</summary>
    private static string Unescape(string escaped)
    {
        var text = new StringBuilder();
        for (var i = 0; i < escaped.Length; i++)
        {
            if (escaped[i] != '\\')
            {
                text.Append(escaped[i]);
                continue;
            }

            var kind = escaped[++i];
            switch (kind)
            {
                case '\\': text.Append('\\'); break;
                case 'n': text.Append('\n'); break;
                case 'r': text.Append('\r'); break;
                case 't': text.Append('\t'); break;
                case 'x': text.Append((char)Hex(2)); break;
                case 'u': text.Append((char)Hex(4)); break;
                case 'U': text.Append(char.ConvertFromUtf32(Hex(8))); break;
                default: throw new FormatException($"unknown escape \\{kind} in {escaped}");
            }

            int Hex(int digits)
            {
                var value = int.Parse(escaped.AsSpan(i + 1, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                i += digits;
                return value;
            }
        }

        return text.ToString();
    }
}
