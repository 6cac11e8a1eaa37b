using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using CsCheck;

namespace Tessera.Core.Tests.Protocol;

public sealed class JsonCanonicalTests
{
    private static readonly JsonSerializerOptions Literal = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

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

        Assert.Equal(expected, Canonical(input));
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

        Assert.Equal(expected, Canonical(input));
    }

    // RFC 8785 Appendix B: IEEE-754 bits and the JCS form of that double. (Its NaN and Infinity rows
    // cannot be written in JSON; Numbers_beyond_a_double_are_refused covers what stands for them.)
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

        Assert.Equal(expected, Canonical(number.ToString("R", CultureInfo.InvariantCulture)));
        Assert.Equal(expected, Canonical(expected));
    }

    [Theory]
    [InlineData("1e-7", "1e-7")]
    [InlineData("1E-6", "0.000001")]
    [InlineData("1e20", "100000000000000000000")]
    [InlineData("1.0", "1")]
    [InlineData("-0", "0")]
    [InlineData("-0.0e5", "0")]
    [InlineData("1E2", "100")]
    [InlineData("1e-400", "0")]
    [InlineData("123.456", "123.456")]
    [InlineData("-1.5e-10", "-1.5e-10")]
    [InlineData("1.23456789012345678901e20", "123456789012345680000")]
    [InlineData("9007199254740993.0", "9007199254740992")]
    public void Numbers_take_the_form_ecmascript_gives_their_double(string json, string expected) =>
        Assert.Equal(expected, Canonical(json));

    [Theory]
    [InlineData("\"a\\/b\"", "\"a/b\"")]
    [InlineData("\"\\u00e9\\u2028\\u2029\\u007f\"", "\"é\u2028\u2029\u007f\"")]
    [InlineData("\"\\b\\t\\n\\f\\r\\u0000\\u001F\\u000b\"", "\"\\b\\t\\n\\f\\r\\u0000\\u001f\\u000b\"")]
    [InlineData("\"\\\"\\\\\"", "\"\\\"\\\\\"")]
    [InlineData("\"\\ud83d\\ude00 😀\"", "\"😀 😀\"")]
    [InlineData("\"plain\"", "\"plain\"")]
    public void Strings_escape_only_quote_backslash_and_control_characters(string json, string expected) =>
        Assert.Equal(expected, Canonical(json));

    [Fact]
    public void Whitespace_goes_and_literals_stay() =>
        Assert.Equal("[true,false,null,{},[],\"\"]", Canonical(" [ true ,\n false ,\tnull , { } , [ ] , \"\" ] "));

    [Theory]
    [InlineData("1e400")]
    [InlineData("-1e400")]
    [InlineData("{\"a\":[1, 2e308]}")]
    public void Numbers_beyond_a_double_are_refused(string json) =>
        Assert.Equal(JsonCanonicalRefusal.NumberNotFinite, Refusal(json));

    [Theory]
    [InlineData("9007199254740993")]
    [InlineData("-9007199254740993")]
    [InlineData("295147905179352825856")]
    [InlineData("12345678901234567890")]
    public void Integers_a_double_cannot_hold_exactly_are_refused(string json) =>
        Assert.Equal(JsonCanonicalRefusal.IntegerNotExact, Refusal(json));

    [Theory]
    [InlineData("333333333.33333329")]
    [InlineData("9007199254740993.0")]
    [InlineData("{\"a\":[1, 0.10000000000000000001]}")]
    [InlineData("1.00000000000000000000001e10")]
    public void With_exact_numbers_a_number_whose_decimal_value_a_double_rounds_is_refused(string json)
    {
        using var document = JsonDocument.Parse(json);
        Assert.True(JsonCanonical.TryCanonicalize(document.RootElement, out _, out _));
        Assert.False(JsonCanonical.TryCanonicalize(document.RootElement, out var canonical, out var refusal, exactNumbers: true));
        Assert.Null(canonical);
        Assert.Equal(JsonCanonicalRefusal.NumberNotExact, refusal);
    }

    [Theory]
    [InlineData("1E30", "1e+30")]
    [InlineData("4.50", "4.5")]
    [InlineData("2e-3", "0.002")]
    [InlineData("0.000000000000000000000000001", "1e-27")]
    [InlineData("-0.0", "0")]
    [InlineData("0e10", "0")]
    [InlineData("0.30000000000000004", "0.30000000000000004")]
    [InlineData("1.7976931348623157e308", "1.7976931348623157e+308")]
    [InlineData("5e-324", "5e-324")]
    [InlineData("120E-1", "12")]
    public void With_exact_numbers_any_spelling_of_the_canonical_value_is_kept(string json, string expected)
    {
        using var document = JsonDocument.Parse(json);
        Assert.True(JsonCanonical.TryCanonicalize(document.RootElement, out var canonical, out _, exactNumbers: true));
        Assert.Equal(expected, Encoding.UTF8.GetString(canonical));
    }

    [Theory]
    [InlineData("9007199254740992", "9007199254740992")]
    [InlineData("-999999999999999", "-999999999999999")]
    [InlineData("295147905179352830000", "295147905179352830000")]
    [InlineData("100000000000000000000000", "1e+23")]
    public void Integers_written_as_their_doubles_shortest_form_are_kept(string json, string expected) =>
        Assert.Equal(expected, Canonical(json));

    [Theory]
    [InlineData("\"\\ud800\"")]
    [InlineData("\"\\udc00\"")]
    [InlineData("\"\\udc00\\ud800\"")]
    [InlineData("\"\\ud800x\"")]
    [InlineData("\"\\ud800\\n\"")]
    [InlineData("\"\\ud800\\u0041\"")]
    [InlineData("{\"\\ud800\":1}")]
    public void Lone_surrogates_are_refused(string json) =>
        Assert.Equal(JsonCanonicalRefusal.InvalidUnicode, Refusal(json));

    [Theory]
    [InlineData(new byte[] { (byte)'"', 0xFF, (byte)'"' })]
    [InlineData(new byte[] { (byte)'"', 0xC3, (byte)'\\', (byte)'n', (byte)'"' })]
    [InlineData(new byte[] { (byte)'"', 0xED, 0xA0, 0x80, (byte)'"' })]
    [InlineData(new byte[] { (byte)'{', (byte)'"', 0xC0, 0xAF, (byte)'"', (byte)':', (byte)'1', (byte)'}' })]
    public void Invalid_utf8_is_refused(byte[] json)
    {
        using var document = JsonDocument.Parse(json);

        Assert.False(JsonCanonical.TryWrite(document.RootElement, new System.Buffers.ArrayBufferWriter<byte>(), out var refusal));
        Assert.Equal(JsonCanonicalRefusal.InvalidUnicode, refusal);
    }

    [Theory]
    [InlineData("{\"a\":1,\"a\":2}")]
    [InlineData("{\"a\":1,\"\\u0061\":1}")]
    [InlineData("[{\"b\":0,\"x\":{\"k\":1,\"j\":2,\"k\":3}}]")]
    public void Duplicate_member_names_are_refused(string json)
    {
        Assert.Equal(JsonCanonicalRefusal.DuplicateMemberName, Refusal(json));

        // Parsed without duplicates allowed (.NET 10), the document itself is refused first.
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(json, new JsonDocumentOptions { AllowDuplicateProperties = false }));
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_refused_even_when_the_parser_allowed_it()
    {
        var options = new JsonDocumentOptions { MaxDepth = 200 };
        var deepest = new string('[', JsonCanonical.MaxDepth) + new string(']', JsonCanonical.MaxDepth);
        var tooDeep = "{\"a\":" + deepest + "}";

        Assert.Equal(deepest, Canonical(deepest, options));
        Assert.Equal(JsonCanonicalRefusal.TooDeep, Refusal(tooDeep, options));
        Assert.Equal(JsonCanonicalRefusal.TooDeep, Refusal("[" + tooDeep + "]", options));
    }

    [Fact]
    public void The_hash_is_the_lower_case_hex_sha256_of_the_canonical_form()
    {
        using var document = JsonDocument.Parse("{ \"to\": \"ops@example.com\", \"amount\": 10.50, \"tags\": [\"x\"] }");
        var expected = Convert.ToHexStringLower(SHA256.HashData("{\"amount\":10.5,\"tags\":[\"x\"],\"to\":\"ops@example.com\"}"u8));

        Assert.Equal(expected, JsonCanonical.Sha256Hex(document.RootElement));
        Assert.True(JsonCanonical.TrySha256Hex(document.RootElement, out var hex, out var refusal));
        Assert.Equal(expected, hex);
        Assert.Equal(JsonCanonicalRefusal.None, refusal);
    }

    [Fact]
    public void A_hash_after_a_large_or_refused_value_is_unaffected_by_it()
    {
        using var small = JsonDocument.Parse("{\"b\":[1,2],\"a\":\"x\"}");
        using var large = JsonDocument.Parse("[\"" + new string('x', 100_000) + "\"]");
        using var refused = JsonDocument.Parse("{\"z\":\"" + new string('y', 1_000) + "\",\"a\":1e999}");
        var expected = Convert.ToHexStringLower(SHA256.HashData("{\"a\":\"x\",\"b\":[1,2]}"u8));

        Assert.Equal(expected, JsonCanonical.Sha256Hex(small.RootElement));
        Assert.NotEqual(expected, JsonCanonical.Sha256Hex(large.RootElement));
        Assert.Equal(expected, JsonCanonical.Sha256Hex(small.RootElement));
        Assert.False(JsonCanonical.TrySha256Hex(refused.RootElement, out _, out _));
        Assert.Equal(expected, JsonCanonical.Sha256Hex(small.RootElement));
    }

    [Fact]
    public void The_throwing_forms_carry_the_refusal()
    {
        using var document = JsonDocument.Parse("{\"a\":\"\\ud800\"}");

        Assert.Equal(JsonCanonicalRefusal.InvalidUnicode, Assert.Throws<JsonCanonicalException>(() => JsonCanonical.Canonicalize(document.RootElement)).Refusal);
        Assert.Equal(JsonCanonicalRefusal.InvalidUnicode, Assert.Throws<JsonCanonicalException>(() => JsonCanonical.Sha256Hex(document.RootElement)).Refusal);
        Assert.False(JsonCanonical.TrySha256Hex(document.RootElement, out var hex, out _));
        Assert.Null(hex);
    }

    [Fact]
    public void Canonicalizing_the_canonical_form_changes_nothing() =>
        Value(depth: 3).Sample(json =>
        {
            var once = Canonical(json);
            Assert.Equal(once, Canonical(once));
        }, iter: 2_000);

    [Fact]
    public void Member_order_and_whitespace_do_not_change_the_hash() =>
        Node(depth: 3).Sample(node =>
        {
            using var plain = JsonDocument.Parse(Render(node, reversed: false, spaced: false));
            using var other = JsonDocument.Parse(Render(node, reversed: true, spaced: true));
            Assert.Equal(JsonCanonical.Sha256Hex(plain.RootElement), JsonCanonical.Sha256Hex(other.RootElement));
        }, iter: 2_000);

    [Fact]
    public void Every_finite_double_reads_back_from_its_canonical_form() =>
        Gen.Long.Select(BitConverter.Int64BitsToDouble).Where(double.IsFinite).Sample(number =>
        {
            var canonical = Canonical(number.ToString("R", CultureInfo.InvariantCulture));
            var back = double.Parse(canonical, NumberStyles.Float, CultureInfo.InvariantCulture);
            Assert.Equal(number == 0 ? 0 : number, back);
            Assert.DoesNotContain('E', canonical);
            if (number == 0)
            {
                Assert.Equal("0", canonical);
            }
        }, iter: 100_000);

    [Fact]
    public void Members_come_out_in_ordinal_utf16_order() =>
        // Characters either side of every boundary where UTF-8 byte order and UTF-16 order part ways;
        // up to 40 members, so both the small objects' sort and the large objects' sort are taken.
        Gen.OneOfConst("a", "B", "\u0080", "\u00f6", "\u07ff", "\u0800", "\ud7ff", "\ue000", "\ufb33", "\uffff",
                "\U00010000", "\U0001F600", "\U0010FFFF")
            .Array[0, 4].Select(string.Concat).Array[1, 40].Sample(names =>
            {
                var distinct = names.Distinct(StringComparer.Ordinal).ToArray();
                var json = "{" + string.Join(',', distinct.Select((n, i) => JsonSerializer.Serialize(n) + ":" + i)) + "}";
                using var canonical = JsonDocument.Parse(Canonical(json));

                var order = canonical.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
                Assert.Equal(distinct.Order(StringComparer.Ordinal), order);
            }, iter: 5_000);

    private static string Canonical(string json, JsonDocumentOptions options = default)
    {
        using var document = JsonDocument.Parse(json, options);
        return Encoding.UTF8.GetString(JsonCanonical.Canonicalize(document.RootElement));
    }

    private static JsonCanonicalRefusal Refusal(string json, JsonDocumentOptions options = default)
    {
        using var document = JsonDocument.Parse(json, options);
        Assert.False(JsonCanonical.TryCanonicalize(document.RootElement, out var canonical, out var refusal));
        Assert.Null(canonical);
        return refusal;
    }

    private static readonly Gen<string> Text = Gen.OneOfConst("a", "Z", " ", "é", "€", "😀", "\ufb33", "\u2028", "/", "\\", "\"", "\n", "\u0001", "\u007f")
        .Array[0, 6].Select(string.Concat);

    private static readonly Gen<JsonNode?> Scalar = Gen.OneOf<JsonNode?>(
        Gen.Const((JsonNode?)null),
        Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b)),
        Gen.Int.Select(i => (JsonNode?)JsonValue.Create(i)),
        Gen.Double.Where(double.IsFinite).Select(d => (JsonNode?)JsonValue.Create(d)),
        Text.Select(s => (JsonNode?)JsonValue.Create(s)));

    /// <summary>A JSON value up to <paramref name="depth"/> containers deep, with distinct member names.</summary>
    private static Gen<JsonNode?> Node(int depth) => depth == 0
        ? Scalar
        : Gen.Frequency(
            (3, Scalar),
            (1, Node(depth - 1).Array[0, 5].Select(items => (JsonNode?)new JsonArray([.. items.Select(i => i?.DeepClone())]))),
            (1, Gen.Select(Text, Node(depth - 1)).Array[0, 6].Select(members =>
            {
                var obj = new JsonObject();
                foreach (var (name, value) in members.DistinctBy(m => m.Item1, StringComparer.Ordinal))
                {
                    obj[name] = value?.DeepClone();
                }

                return (JsonNode?)obj;
            })));

    /// <summary>JSON text of a value, written variously: plain or with spaces, non-ASCII escaped or literal.</summary>
    private static Gen<string> Value(int depth) =>
        Gen.Select(Node(depth), Gen.Bool, Gen.Bool).Select((node, reversed, spaced) => Render(node, reversed, spaced));

    /// <summary>
    /// <paramref name="node"/> as JSON text, its members in their order or reversed, tight or spaced out,
    /// strings escaped (spaced) or literal: everything JCS must not care about.
    /// </summary>
    private static string Render(JsonNode? node, bool reversed, bool spaced)
    {
        var gap = spaced ? " \n\t" : "";
        return node switch
        {
            null => "null",
            JsonObject o => "{" + gap + string.Join("," + gap, (reversed ? o.Reverse() : o).Select(m =>
                StringText(m.Key, spaced) + gap + ":" + gap + Render(m.Value, reversed, spaced))) + gap + "}",
            JsonArray a => "[" + gap + string.Join("," + gap, a.Select(i => Render(i, reversed, spaced))) + gap + "]",
            JsonValue v when v.TryGetValue<string>(out var s) => StringText(s, spaced),
            _ => node.ToJsonString(),
        };
    }

    private static string StringText(string value, bool escaped) => escaped ? JsonSerializer.Serialize(value) : JsonSerializer.Serialize(value, Literal);
}
