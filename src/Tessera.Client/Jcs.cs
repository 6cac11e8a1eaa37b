using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Tessera.Client;

/// <summary>
/// The JSON Canonicalization Scheme (RFC 8785), as Tessera computes it for <c>arguments_sha256</c>.
/// Hand-written because no JCS package is served to this build and <see cref="Utf8JsonWriter"/>
/// cannot emit JCS (it escapes non-ASCII and writes .NET number forms). It mirrors the server's
/// refusals, so a value the server would refuse is refused here rather than hashed to something the
/// server never matches: a number beyond a double, an integer (or, with exact numbers, any number)
/// whose written value a double does not hold exactly, a string that is not Unicode text, two
/// members of one name, nesting deeper than 64. Not a hot path: a string builder is plenty.
/// </summary>
internal static class Jcs
{
    public const int MaxDepth = 64;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The canonical UTF-8 bytes of <paramref name="value"/>.</summary>
    /// <exception cref="ArgumentException">The value has no canonical form (see the class summary).</exception>
    public static byte[] Canonicalize(JsonElement value, bool exactNumbers)
    {
        var text = new StringBuilder();
        Write(value, text, 0, exactNumbers);
        try
        {
            return StrictUtf8.GetBytes(text.ToString());
        }
        catch (EncoderFallbackException ex)
        {
            throw new ArgumentException("A string in the JSON value is not Unicode text (a lone surrogate).", nameof(value), ex);
        }
    }

    private static void Write(JsonElement value, StringBuilder text, int depth, bool exactNumbers)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                WriteObject(value, text, depth + 1, exactNumbers);
                break;
            case JsonValueKind.Array:
                if (depth + 1 > MaxDepth)
                {
                    throw new ArgumentException($"The JSON value is nested deeper than {MaxDepth}.", nameof(value));
                }

                text.Append('[');
                var first = true;
                foreach (var item in value.EnumerateArray())
                {
                    if (!first)
                    {
                        text.Append(',');
                    }

                    first = false;
                    Write(item, text, depth + 1, exactNumbers);
                }

                text.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(StringOf(value), text);
                break;
            case JsonValueKind.Number:
                WriteNumber(value.GetRawText(), text, exactNumbers);
                break;
            case JsonValueKind.True:
                text.Append("true");
                break;
            case JsonValueKind.False:
                text.Append("false");
                break;
            case JsonValueKind.Null:
                text.Append("null");
                break;
            default:
                throw new ArgumentException("The JSON element holds no value.", nameof(value));
        }
    }

    private static void WriteObject(JsonElement value, StringBuilder text, int depth, bool exactNumbers)
    {
        if (depth > MaxDepth)
        {
            throw new ArgumentException($"The JSON value is nested deeper than {MaxDepth}.", nameof(value));
        }

        // RFC 8785 §3.2.3: members sorted by the UTF-16 code units of their names.
        var members = value.EnumerateObject().Select(p => (Name: NameOf(p), p.Value)).ToList();
        members.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        text.Append('{');
        for (var i = 0; i < members.Count; i++)
        {
            if (i > 0)
            {
                if (string.Equals(members[i].Name, members[i - 1].Name, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"The JSON object has two members named '{members[i].Name}'.", nameof(value));
                }

                text.Append(',');
            }

            WriteString(members[i].Name, text);
            text.Append(':');
            Write(members[i].Value, text, depth, exactNumbers);
        }

        text.Append('}');
    }

    private static string StringOf(JsonElement value)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException ex)
        {
            throw new ArgumentException("A string in the JSON value is not Unicode text.", nameof(value), ex);
        }
    }

    private static string NameOf(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException ex)
        {
            throw new ArgumentException("A member name in the JSON value is not Unicode text.", nameof(property), ex);
        }
    }

    /// <summary>RFC 8785 §3.2.2.2: escape only <c>"</c>, <c>\</c> and U+0000–U+001F (short forms where JSON has them).</summary>
    private static void WriteString(string value, StringBuilder text)
    {
        text.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\b': text.Append("\\b"); break;
                case '\t': text.Append("\\t"); break;
                case '\n': text.Append("\\n"); break;
                case '\f': text.Append("\\f"); break;
                case '\r': text.Append("\\r"); break;
                case < ' ': text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: text.Append(c); break;
            }
        }

        text.Append('"');
    }

    /// <summary>RFC 8785 §3.2.2.3: the number as ECMAScript writes its double.</summary>
    private static void WriteNumber(string token, StringBuilder text, bool exactNumbers)
    {
        if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
        {
            throw new ArgumentException($"The number {token} is beyond a double.", nameof(token));
        }

        if (number == 0)
        {
            text.Append('0');
            return;
        }

        // number = ±0.d1d2…dk × 10^n, with d1 ≠ 0 and dk ≠ 0.
        var (digits, n) = Decompose(number.ToString("R", CultureInfo.InvariantCulture));
        var isInteger = token.IndexOfAny(['.', 'e', 'E']) < 0;
        if ((isInteger || exactNumbers) && Decompose(token) != (digits, n))
        {
            throw new ArgumentException($"The number {token} is not exactly a double ({number.ToString("R", CultureInfo.InvariantCulture)}), so it has no single canonical form.", nameof(token));
        }

        var k = digits.Length;
        if (number < 0)
        {
            text.Append('-');
        }

        if (k <= n && n <= 21)
        {
            text.Append(digits).Append('0', n - k);
        }
        else if (n is > 0 and <= 21)
        {
            text.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else if (n is > -6 and <= 0)
        {
            text.Append("0.").Append('0', -n).Append(digits);
        }
        else
        {
            var e = n - 1;
            text.Append(digits[0]);
            if (k > 1)
            {
                text.Append('.').Append(digits, 1, k - 1);
            }

            text.Append('e').Append(e < 0 ? '-' : '+').Append(Math.Abs(e).ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>A decimal text (<c>-12.50e3</c>, <c>1.2E-07</c>) as significant digits and the point's position: value = 0.digits × 10^n.</summary>
    private static (string Digits, int N) Decompose(string decimalText)
    {
        var s = decimalText.TrimStart('-', '+');
        var exponent = 0;
        var e = s.IndexOfAny(['e', 'E']);
        if (e >= 0)
        {
            // An exponent too long for an int belongs to a number refused before or parsed to zero.
            exponent = int.Parse(s.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            s = s[..e];
        }

        var dot = s.IndexOf('.', StringComparison.Ordinal);
        var integer = dot < 0 ? s : s[..dot];
        var all = dot < 0 ? s : integer + s[(dot + 1)..];
        var n = integer.Length + exponent;
        var start = 0;
        while (start < all.Length && all[start] == '0')
        {
            start++;
            n--;
        }

        var end = all.Length;
        while (end > start && all[end - 1] == '0')
        {
            end--;
        }

        return (all[start..end], n);
    }
}
