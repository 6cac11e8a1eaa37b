using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Tessera.Client.Mcp;

/// <summary>
/// The JSON Canonicalization Scheme (RFC 8785, "JCS") as Tessera applies it to an MCP tool call's
/// arguments: members sorted by their names' UTF-16 code units, no whitespace, strings with only
/// <c>"</c>, <c>\</c> and control characters escaped, numbers as ECMAScript prints their double.
/// The client's own copy because this package may not reference Tessera.Core; it is tested against
/// the RFC's vectors and against the server's <c>JsonCanonical</c> on generated documents. Written
/// over managed strings rather than raw UTF-8: it runs once per approval, not per request.
/// <para>
/// It refuses what the server refuses (so an agent never asks a person to approve a call the gateway
/// would not let through): a number that is not finite, a number whose written decimal value is not
/// exactly its double's (<c>9007199254740993</c>, <c>333333333.33333329</c>), a string that is not
/// Unicode text (a lone surrogate), two members of one name, nesting deeper than 64.
/// </para>
/// </summary>
internal static class JsonCanonicalForm
{
    /// <summary>The deepest nesting of objects and arrays accepted, as the server's.</summary>
    public const int MaxDepth = 64;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The canonical UTF-8 of <paramref name="value"/>, or null with the reason it has none.</summary>
    public static byte[]? TryCanonicalize(JsonElement value, [NotNullWhen(false)] out string? refusal)
    {
        var text = new StringBuilder(256);
        refusal = Write(value, text, 0);
        if (refusal is not null)
        {
            return null;
        }

        try
        {
            return StrictUtf8.GetBytes(text.ToString());
        }
        catch (EncoderFallbackException)
        {
            refusal = "a string is not Unicode text";
            return null;
        }
    }

    /// <summary>The lower-case hex SHA-256 of the canonical form of <paramref name="value"/>, or null with the reason.</summary>
    public static string? TrySha256Hex(JsonElement value, [NotNullWhen(false)] out string? refusal) =>
        TryCanonicalize(value, out refusal) is { } canonical ? Convert.ToHexStringLower(SHA256.HashData(canonical)) : null;

    private static string? Write(JsonElement value, StringBuilder text, int depth)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                if (depth + 1 > MaxDepth)
                {
                    return "the arguments nest deeper than 64 levels";
                }

                var members = new List<(string Name, JsonElement Value)>();
                foreach (var member in value.EnumerateObject())
                {
                    if (ReadString(() => member.Name) is not { } name)
                    {
                        return "a member name is not Unicode text";
                    }

                    members.Add((name, member.Value));
                }

                // RFC 8785 §3.2.3: sorted by UTF-16 code units, which is what ordinal comparison of .NET strings is.
                members.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
                text.Append('{');
                for (var i = 0; i < members.Count; i++)
                {
                    if (i > 0)
                    {
                        if (string.Equals(members[i].Name, members[i - 1].Name, StringComparison.Ordinal))
                        {
                            return "a member name appears twice";
                        }

                        text.Append(',');
                    }

                    WriteString(members[i].Name, text);
                    text.Append(':');
                    if (Write(members[i].Value, text, depth + 1) is { } refusal)
                    {
                        return refusal;
                    }
                }

                text.Append('}');
                return null;
            case JsonValueKind.Array:
                if (depth + 1 > MaxDepth)
                {
                    return "the arguments nest deeper than 64 levels";
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
                    if (Write(item, text, depth + 1) is { } refusal)
                    {
                        return refusal;
                    }
                }

                text.Append(']');
                return null;
            case JsonValueKind.String:
                if (ReadString(value.GetString) is not { } s)
                {
                    return "a string is not Unicode text";
                }

                WriteString(s, text);
                return null;
            case JsonValueKind.Number:
                if (Number(value.GetRawText()) is not { } number)
                {
                    return "a number has no single canonical form (not finite, or a double rounds it)";
                }

                text.Append(number);
                return null;
            case JsonValueKind.True:
                text.Append("true");
                return null;
            case JsonValueKind.False:
                text.Append("false");
                return null;
            case JsonValueKind.Null:
                text.Append("null");
                return null;
            default:
                throw new ArgumentException("The JSON element holds no value (default JsonElement).", nameof(value));
        }
    }

    /// <summary>The string, or null when it is not Unicode text (System.Text.Json throws on some lone surrogates; the rest are found here).</summary>
    private static string? ReadString(Func<string?> read)
    {
        string? s;
        try
        {
            s = read();
        }
        catch (InvalidOperationException)
        {
            return null;
        }

        if (s is null)
        {
            return null;
        }

        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return null;
            }
        }

        return s;
    }

    /// <summary>RFC 8785 §3.2.2.2: <c>"</c> and <c>\</c> escaped, U+0000–U+001F as the short escapes or <c>\u00xx</c>, the rest as it is.</summary>
    private static void WriteString(string s, StringBuilder text)
    {
        text.Append('"');
        foreach (var c in s)
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
                case < ' ': text.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)); break;
                default: text.Append(c); break;
            }
        }

        text.Append('"');
    }

    /// <summary>
    /// A number as ECMAScript's <c>Number.prototype.toString</c> writes its double (RFC 8785 §3.2.2.3), or
    /// null when it is not finite or its written decimal value is not exactly the canonical one.
    /// </summary>
    internal static string? Number(string token)
    {
        if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
        {
            return null;
        }

        if (number == 0)
        {
            // Zero and minus zero are both "0".
            return "0";
        }

        // .NET's "R" is the shortest round-trip form (ties to even); only the layout is ECMAScript's.
        var (digits, n) = Decompose(number.ToString("R", CultureInfo.InvariantCulture));
        var k = digits.Length;
        var sign = number < 0 ? "-" : "";
        string canonical;
        if (k <= n && n <= 21)
        {
            canonical = sign + digits + new string('0', n - k);
        }
        else if (n is > 0 and <= 21)
        {
            canonical = sign + digits[..n] + "." + digits[n..];
        }
        else if (n is > -6 and <= 0)
        {
            canonical = sign + "0." + new string('0', -n) + digits;
        }
        else
        {
            var exponent = n - 1;
            canonical = sign + digits[0] + (k > 1 ? "." + digits[1..] : "") + "e" + (exponent < 0 ? "-" : "+")
                + Math.Abs(exponent).ToString(CultureInfo.InvariantCulture);
        }

        // As the server: the value written must be exactly the value the hash binds.
        return Decimal(token) == Decimal(canonical) ? canonical : null;
    }

    /// <summary>The significant digits of .NET's round-trip form and n, such that the value is ±0.digits × 10^n.</summary>
    private static (string Digits, int N) Decompose(string text)
    {
        var e = text.IndexOf('E', StringComparison.Ordinal);
        var mantissa = (e >= 0 ? text[..e] : text).TrimStart('-');
        var exponent = e >= 0 ? int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) : 0;
        var point = mantissa.IndexOf('.', StringComparison.Ordinal);
        var integerDigits = point >= 0 ? point : mantissa.Length;
        var all = mantissa.Replace(".", "", StringComparison.Ordinal);
        var leading = all.Length - all.TrimStart('0').Length;
        return (all.Trim('0'), integerDigits - leading + exponent);
    }

    /// <summary>A decimal number's value as its significant digits and the power of ten of the last one ("0" for zero).</summary>
    private static (string Digits, long Scale) Decimal(string token)
    {
        token = token.TrimStart('-');
        var e = token.IndexOfAny(['e', 'E']);
        var mantissa = e >= 0 ? token[..e] : token;
        long exponent = 0;
        if (e >= 0)
        {
            var text = token[(e + 1)..];
            var negative = text.StartsWith('-');
            foreach (var c in text.TrimStart('+', '-'))
            {
                exponent = Math.Min((exponent * 10) + (c - '0'), 100_000);
            }

            exponent = negative ? -exponent : exponent;
        }

        var point = mantissa.IndexOf('.', StringComparison.Ordinal);
        var fraction = point >= 0 ? mantissa.Length - point - 1 : 0;
        var digits = mantissa.Replace(".", "", StringComparison.Ordinal).TrimStart('0');
        if (digits.Length == 0)
        {
            return ("0", 0);
        }

        var significant = digits.TrimEnd('0');
        return (significant, exponent - fraction + (digits.Length - significant.Length));
    }
}
