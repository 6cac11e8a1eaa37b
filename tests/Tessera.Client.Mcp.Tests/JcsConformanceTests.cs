using System.Globalization;
using System.Text.Json.Nodes;
using CsCheck;
using Tessera.Core.Protocol;

namespace Tessera.Client.Mcp.Tests;

/// <summary>
/// The client's RFC 8785 canonical form: the RFC's own vectors, the server's refusals, and byte for byte
/// the server's <see cref="JsonCanonical"/> (with exact numbers, as the gateway hashes a call) on
/// generated documents, so an approval the agent asks for is bound to the hash the gateway computes.
/// </summary>
public sealed class JcsConformanceTests
{
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
    public void Numbers_are_written_as_the_RFC_8785_vectors_say(ulong bits, string expected)
    {
        var number = BitConverter.UInt64BitsToDouble(bits);

        // Written in .NET's round-trip form and in the canonical form itself: both are that double exactly.
        Assert.Equal(expected, Canonical(number.ToString("R", CultureInfo.InvariantCulture)));
        Assert.Equal(expected, Canonical(expected));
    }

    [Fact]
    public void The_RFC_8785_example_is_canonicalized_as_the_RFC_prints_it()
    {
        // RFC 8785 §3.2.2, less 333333333.33333329: its written value is not its double's, which Tessera refuses.
        const string input = """
            {
              "numbers": [1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """;

        Assert.Equal("""{"literals":[null,true,false],"numbers":[1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}""", Canonical(input));
    }

    [Fact]
    public void Members_are_sorted_by_utf16_code_units_as_in_the_RFC()
    {
        // RFC 8785 §3.2.3.
        const string input = """{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}""";

        using var canonical = JsonDocument.Parse(Canonical(input));

        Assert.Equal(["\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33"], canonical.RootElement.EnumerateObject().Select(m => m.Name));
    }

    [Theory]
    [InlineData("""{"n":333333333.33333329}""")]
    [InlineData("""{"n":9007199254740993}""")]
    [InlineData("""{"n":9007199254740993.0}""")]
    [InlineData("""{"n":1e400}""")]
    [InlineData("""{"s":"\ud800"}""")]
    [InlineData("""{"s":"\udc00\ud800"}""")]
    [InlineData("""{"a":1,"a":2}""")]
    public void What_the_server_refuses_has_no_canonical_form_here_either(string json)
    {
        using var document = JsonDocument.Parse(json);

        Assert.Null(Jcs.TryCanonicalize(document.RootElement, out var refusal));
        Assert.NotNull(refusal);
        Assert.False(JsonCanonical.TryCanonicalize(document.RootElement, out _, out _, exactNumbers: true));
        Assert.Throws<ArgumentException>(() => McpArguments.Sha256(document.RootElement));
    }

    [Fact]
    public void Nesting_deeper_than_64_is_refused_as_the_server_refuses_it()
    {
        var json = string.Concat(Enumerable.Repeat("[", 65)) + string.Concat(Enumerable.Repeat("]", 65));
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 100 });

        Assert.Null(Jcs.TryCanonicalize(document.RootElement, out _));
        Assert.False(JsonCanonical.TryCanonicalize(document.RootElement, out _, out _, exactNumbers: true));
    }

    [Fact]
    public void No_arguments_hash_as_an_empty_object()
    {
        using var empty = JsonDocument.Parse("{ }");

        Assert.Equal(McpArguments.NoArgumentsSha256, McpArguments.Sha256(empty.RootElement));
    }

    [Fact]
    public void Generated_documents_canonicalize_to_the_servers_bytes() =>
        Gen.Select(Node(3), Gen.Bool).Sample((node, spaced) =>
        {
            var json = spaced ? node?.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) ?? "null" : node?.ToJsonString() ?? "null";
            using var document = JsonDocument.Parse(json);

            var client = Jcs.TryCanonicalize(document.RootElement, out _);
            var server = JsonCanonical.TryCanonicalize(document.RootElement, out var canonical, out _, exactNumbers: true) ? canonical : null;

            Assert.Equal(server, client);
        }, iter: 5_000);

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

    private static string Canonical(string json)
    {
        using var document = JsonDocument.Parse(json);
        var canonical = Jcs.TryCanonicalize(document.RootElement, out var refusal);
        Assert.True(canonical is not null, refusal);
        return Encoding.UTF8.GetString(canonical);
    }

    private static readonly Gen<string> Text = Gen.OneOfConst("a", "Z", " ", "é", "€", "😀", "\ufb33", "\u2028", "/", "\\", "\"", "\n", "\u0001", "\u007f", "\u0080", "\uffff", "\U0010FFFF")
        .Array[0, 6].Select(string.Concat);

    private static readonly Gen<JsonNode?> Scalar = Gen.OneOf<JsonNode?>(
        Gen.Const((JsonNode?)null),
        Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b)),
        Gen.Int.Select(i => (JsonNode?)JsonValue.Create(i)),
        Gen.Long.Select(i => (JsonNode?)JsonValue.Create(i)),
        Gen.Double.Where(double.IsFinite).Select(d => (JsonNode?)JsonValue.Create(d)),
        Text.Select(s => (JsonNode?)JsonValue.Create(s)));

    /// <summary>A JSON value up to <paramref name="depth"/> containers deep, with distinct member names.</summary>
    private static Gen<JsonNode?> Node(int depth) => depth == 0
        ? Scalar
        : Gen.Frequency(
            (3, Scalar),
            (1, Node(depth - 1).Array[0, 5].Select(items => (JsonNode?)new JsonArray([.. items.Select(i => i?.DeepClone())]))),
            (1, Gen.Select(Text, Node(depth - 1)).Array[0, 20].Select(members =>
            {
                var obj = new JsonObject();
                foreach (var (name, value) in members.DistinctBy(m => m.Item1, StringComparer.Ordinal))
                {
                    obj[name] = value?.DeepClone();
                }

                return (JsonNode?)obj;
            })));
}
