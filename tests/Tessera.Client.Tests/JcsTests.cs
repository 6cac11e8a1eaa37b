using System.Globalization;
using System.Text.Encodings.Web;
using CsCheck;
using Tessera.Core.Protocol;

namespace Tessera.Client.Tests;

public sealed class JcsTests
{
    [Fact]
    public void The_rfc_8785_section_3_2_2_example_canonicalizes_as_the_rfc_shows()
    {
        const string input = """
            {
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """;
        const string expected = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27]," +
            "\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";

        Assert.Equal(expected, Canonical(input, exactNumbers: false));
    }

    [Fact]
    public void Members_are_sorted_by_utf16_code_units_as_in_the_rfc_8785_section_3_2_3_example()
    {
        const string input = """
            {
              "\u20ac": "Euro Sign",
              "\r": "Carriage Return",
              "\ufb33": "Hebrew Letter Dalet With Dagesh",
              "1": "One",
              "\ud83d\ude00": "Emoji: Grinning Face",
              "\u0080": "Control",
              "\u00f6": "Latin Small Letter O With Diaeresis"
            }
            """;
        var expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\"," +
            "\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\"," +
            "\"\U0001F600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}";

        Assert.Equal(expected, Canonical(input, exactNumbers: true));
    }

    // RFC 8785 Appendix B: IEEE-754 bits and the JCS form of that double.
    [Theory]
    [InlineData(0x0000000000000000UL, "0")]
    [InlineData(0x8000000000000000UL, "0")]
    [InlineData(0x0000000000000001UL, "5e-324")]
    [InlineData(0x8000000000000001UL, "-5e-324")]
    [InlineData(0x7fefffffffffffffUL, "1.7976931348623157e+308")]
    [InlineData(0xffefffffffffffffUL, "-1.7976931348623157e+308")]
    [InlineData(0x4340000000000000UL, "9007199254740992")]
    [InlineData(0xc340000000000000UL, "-9007199254740992")]
    [InlineData(0x4430000000000000UL, "295147905179352830000")]
    [InlineData(0x44b52d02c7e14af5UL, "9.999999999999997e+22")]
    [InlineData(0x44b52d02c7e14af6UL, "1e+23")]
    [InlineData(0x44b52d02c7e14af7UL, "1.0000000000000001e+23")]
    [InlineData(0x444b1ae4d6e2ef4eUL, "999999999999999700000")]
    [InlineData(0x444b1ae4d6e2ef4fUL, "999999999999999900000")]
    [InlineData(0x444b1ae4d6e2ef50UL, "1e+21")]
    [InlineData(0x3eb0c6f7a0b5ed8cUL, "9.999999999999997e-7")]
    [InlineData(0x3eb0c6f7a0b5ed8dUL, "0.000001")]
    [InlineData(0x41b3de4355555553UL, "333333333.3333332")]
    [InlineData(0x41b3de4355555554UL, "333333333.33333325")]
    [InlineData(0x41b3de4355555555UL, "333333333.3333333")]
    [InlineData(0x41b3de4355555556UL, "333333333.3333334")]
    [InlineData(0x41b3de4355555557UL, "333333333.33333343")]
    [InlineData(0xbecbf647612f3696UL, "-0.0000033333333333333333")]
    [InlineData(0x43143ff3c1cb0959UL, "1424953923781206.2")]
    public void Numbers_are_written_as_the_rfc_8785_appendix_b_table_shows(ulong bits, string expected)
    {
        var number = BitConverter.UInt64BitsToDouble(bits);
        Assert.Equal(expected, Canonical(number.ToString("R", CultureInfo.InvariantCulture), exactNumbers: true));
    }

    [Theory]
    [InlineData("9007199254740993")]
    [InlineData("295147905179352825856")]
    [InlineData("1e400")]
    [InlineData("\"\\ud800\"")]
    [InlineData("{\"a\":1,\"a\":2}")]
    public void What_has_no_single_canonical_form_is_refused(string json)
    {
        using var document = JsonDocument.Parse(json);
        Assert.Throws<ArgumentException>(() => Jcs.Canonicalize(document.RootElement, exactNumbers: false));
    }

    [Theory]
    [InlineData("333333333.33333329")]
    [InlineData("9007199254740993.0")]
    [InlineData("0.10000000000000000001")]
    public void With_exact_numbers_a_decimal_a_double_rounds_is_refused(string json)
    {
        using var document = JsonDocument.Parse(json);
        Assert.Throws<ArgumentException>(() => Jcs.Canonicalize(document.RootElement, exactNumbers: true));
    }

    [Fact]
    public void Nesting_deeper_than_64_is_refused()
    {
        var json = new string('[', 65) + new string(']', 65);
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 100 });
        Assert.Throws<ArgumentException>(() => Jcs.Canonicalize(document.RootElement, exactNumbers: true));
    }

    [Fact]
    public void The_client_and_the_server_canonicalize_generated_documents_to_the_same_bytes_or_both_refuse() =>
        Gen.Select(Value(depth: 3), Gen.Bool).Sample((json, exact) =>
        {
            using var document = JsonDocument.Parse(json);
            var server = JsonCanonical.TryCanonicalize(document.RootElement, out var expected, out _, exactNumbers: exact) ? expected : null;
            byte[]? client;
            try
            {
                client = Jcs.Canonicalize(document.RootElement, exact);
            }
            catch (ArgumentException)
            {
                client = null;
            }

            Assert.Equal(server is null ? null : Encoding.UTF8.GetString(server), client is null ? null : Encoding.UTF8.GetString(client));
        }, iter: 500);

    [Fact]
    public void Generated_numbers_canonicalize_to_the_servers_bytes_or_are_refused_by_both() =>
        Gen.OneOf(
            Gen.Long.Select(BitConverter.Int64BitsToDouble).Where(double.IsFinite).Select(d => d.ToString("R", CultureInfo.InvariantCulture)),
            Gen.Long.Select(l => l.ToString(CultureInfo.InvariantCulture)),
            Gen.Select(Gen.Long[0, 999_999_999_999], Gen.Int[0, 20], Gen.Int[-30, 30]).Select((m, f, e) =>
                string.Create(CultureInfo.InvariantCulture, $"{m / 1000}.{m % 1000:000}{new string('0', f % 3)}e{e}"))).Sample(number =>
        {
            using var document = JsonDocument.Parse(number);

            var client = Jcs.TryCanonicalize(document.RootElement, out _);
            var server = JsonCanonical.TryCanonicalize(document.RootElement, out var canonical, out _, exactNumbers: true) ? canonical : null;

            Assert.Equal(server, client);
        }, iter: 20_000);

    private static string Canonical(string json, bool exactNumbers)
    {
        using var document = JsonDocument.Parse(json);
        return Encoding.UTF8.GetString(Jcs.Canonicalize(document.RootElement, exactNumbers));
    }

    private static readonly JsonSerializerOptions Literal = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly Gen<string> Text = Gen.OneOfConst("a", "Z", " ", "é", "€", "😀", "\ufb33", "\u2028", "/", "\\", "\"", "\n", "\u0001", "\u007f", "\U0010FFFF", "\u0080")
        .Array[0, 6].Select(string.Concat);

    /// <summary>Numbers as clients write them: shortest form, other exponents, trailing zeros, integers beyond a double, and values a double rounds.</summary>
    private static readonly Gen<string> Number = Gen.OneOf(
        Gen.Int.Select(i => i.ToString(CultureInfo.InvariantCulture)),
        Gen.Long.Select(l => l.ToString(CultureInfo.InvariantCulture)),
        Gen.Long.Select(BitConverter.Int64BitsToDouble).Where(double.IsFinite).Select(d => d.ToString("R", CultureInfo.InvariantCulture)),
        Gen.Double.Where(double.IsFinite).Select(d => d.ToString("E20", CultureInfo.InvariantCulture)),
        Gen.Double.Where(double.IsFinite).Select(d => d.ToString("R", CultureInfo.InvariantCulture)).Select(r => r.Contains('E', StringComparison.Ordinal) ? r : r + (r.Contains('.', StringComparison.Ordinal) ? "000" : ".000")),
        Gen.OneOfConst("-0", "0.0", "1e-400", "1E2", "120E-1", "0.1", "0.10000000000000001", "9007199254740993", "1e21", "1e-7", "123456789012345678901234567890"));

    private static readonly Gen<string> Scalar = Gen.OneOf(
        Gen.OneOfConst("null", "true", "false"),
        Number,
        Gen.Select(Text, Gen.Bool).Select((s, escaped) => escaped ? JsonSerializer.Serialize(s) : JsonSerializer.Serialize(s, Literal)),
        Gen.OneOfConst("\"\\ud800\"", "\"\\udc00x\"", "\"\\u0000\\u001F\\b\""));

    /// <summary>JSON text up to <paramref name="depth"/> containers deep; member names may repeat (both sides must refuse).</summary>
    private static Gen<string> Value(int depth) => depth == 0
        ? Scalar
        : Gen.Frequency(
            (3, Scalar),
            (1, Value(depth - 1).Array[0, 5].Select(items => "[" + string.Join(",", items) + "]")),
            (1, Gen.Select(Text, Value(depth - 1)).Array[0, 6].Select(members =>
                "{" + string.Join(", ", members.Select(m => JsonSerializer.Serialize(m.Item1) + ":" + m.Item2)) + "}")));
}
