using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Tessera.Core.Protocol;

/// <summary>
/// The JSON Canonicalization Scheme (RFC 8785, "JCS"): one byte sequence for every JSON value, so
/// that a hash of it names the value and not how a client happened to write it. Used for
/// <c>arguments_sha256</c>, the SHA-256 of an MCP tool call's <c>params.arguments</c> that an
/// exact-call approval is bound to.
/// <para>
/// Hand-written because no JCS package is served to this build, and <see cref="Utf8JsonWriter"/>
/// cannot be made to emit JCS (it escapes non-ASCII and writes .NET number forms such as
/// <c>1E+21</c>). It reads the raw UTF-8 of a <see cref="JsonElement"/> and writes bytes itself.
/// </para>
/// <para>
/// Fails closed on what has no single canonical form: a number beyond a double (<c>1e400</c>),
/// a string that is not Unicode text (a lone surrogate escape, invalid UTF-8), two members of one
/// name, nesting deeper than <see cref="MaxDepth"/>. One refusal beyond RFC 8785: an integer
/// written without fraction or exponent must be one a double holds exactly (see
/// <see cref="JsonCanonicalRefusal.IntegerNotExact"/>); otherwise <c>9007199254740993</c> and
/// <c>9007199254740992</c> would share a hash although a tool reading integers exactly (Python,
/// int64) would see two different calls.
/// </para>
/// </summary>
public static class JsonCanonical
{
    /// <summary>The deepest nesting of objects and arrays accepted: <see cref="JsonDocumentOptions.MaxDepth"/>'s default.</summary>
    public const int MaxDepth = 64;

    /// <summary>The largest buffer <see cref="TrySha256Hex"/> keeps for its thread's next call.</summary>
    private const int RetainedBufferBytes = 64 * 1024;

    /// <summary>Up to this many members an object is sorted in place by insertion (no allocation); more, by <see cref="MemoryExtensions.Sort{T, TComparer}(Span{T}, TComparer)"/>.</summary>
    private const int InsertionSortMembers = 16;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    /// <summary>What a string's content must have escaped in JCS (RFC 8785 §3.2.2.2): <c>"</c>, <c>\</c> and U+0000–U+001F.</summary>
    private static readonly SearchValues<byte> Escaped = SearchValues.Create(
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, (byte)'"', (byte)'\\']);

    /// <summary>
    /// Writes the canonical form of <paramref name="value"/> to <paramref name="output"/>. On a
    /// refusal returns false, and whatever was written so far is not a canonical form of anything.
    /// </summary>
    public static bool TryWrite(JsonElement value, IBufferWriter<byte> output, out JsonCanonicalRefusal refusal, bool exactNumbers = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        refusal = WriteValue(value, output, depth: 0, exactNumbers);
        return refusal == JsonCanonicalRefusal.None;
    }

    /// <summary>The canonical form of <paramref name="value"/> as UTF-8, or a refusal.</summary>
    public static bool TryCanonicalize(JsonElement value, [NotNullWhen(true)] out byte[]? canonical, out JsonCanonicalRefusal refusal, bool exactNumbers = false)
    {
        var output = new ArrayBufferWriter<byte>(256);
        canonical = TryWrite(value, output, out refusal, exactNumbers) ? output.WrittenSpan.ToArray() : null;
        return canonical is not null;
    }

    /// <summary>The SHA-256 of the canonical form of <paramref name="value"/> in lower-case hex, or a refusal.</summary>
    public static bool TrySha256Hex(JsonElement value, [NotNullWhen(true)] out string? hex, out JsonCanonicalRefusal refusal, bool exactNumbers = false)
    {
        // Once per approved call: the canonical form goes into this thread's buffer, not a new one.
        var output = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        try
        {
            if (!TryWrite(value, output, out refusal, exactNumbers))
            {
                hex = null;
                return false;
            }

            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(output.WrittenSpan, hash);
            hex = Convert.ToHexStringLower(hash);
            return true;
        }
        finally
        {
            // Zeroed: a tool call's arguments do not linger. Dropped when one huge call made it large.
            output.Clear();
            if (output.Capacity > RetainedBufferBytes)
            {
                t_buffer = null;
            }
        }
    }

    /// <summary>The canonical form of <paramref name="value"/>; throws <see cref="JsonCanonicalException"/> on a refusal.</summary>
    public static byte[] Canonicalize(JsonElement value) =>
        TryCanonicalize(value, out var canonical, out var refusal) ? canonical : throw new JsonCanonicalException(refusal);

    /// <summary>The lower-case hex SHA-256 of the canonical form; throws <see cref="JsonCanonicalException"/> on a refusal.</summary>
    public static string Sha256Hex(JsonElement value) =>
        TrySha256Hex(value, out var hex, out var refusal) ? hex : throw new JsonCanonicalException(refusal);

    private static JsonCanonicalRefusal WriteValue(JsonElement value, IBufferWriter<byte> output, int depth, bool exactNumbers)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                return WriteObject(value, output, depth + 1, exactNumbers);
            case JsonValueKind.Array:
                return WriteArray(value, output, depth + 1, exactNumbers);
            case JsonValueKind.String:
                var quoted = JsonMarshal.GetRawUtf8Value(value);
                return WriteString(quoted[1..^1], output);
            case JsonValueKind.Number:
                return WriteNumber(JsonMarshal.GetRawUtf8Value(value), output, exactNumbers);
            case JsonValueKind.True:
                output.Write("true"u8);
                return JsonCanonicalRefusal.None;
            case JsonValueKind.False:
                output.Write("false"u8);
                return JsonCanonicalRefusal.None;
            case JsonValueKind.Null:
                output.Write("null"u8);
                return JsonCanonicalRefusal.None;
            default:
                throw new ArgumentException("The JSON element holds no value (default JsonElement).", nameof(value));
        }
    }

    private static JsonCanonicalRefusal WriteArray(JsonElement array, IBufferWriter<byte> output, int depth, bool exactNumbers)
    {
        // Recursion is bounded here, not only by the parser: a document parsed with a larger MaxDepth is refused.
        if (depth > MaxDepth)
        {
            return JsonCanonicalRefusal.TooDeep;
        }

        output.Write("["u8);
        var first = true;
        foreach (var item in array.EnumerateArray())
        {
            if (!first)
            {
                output.Write(","u8);
            }

            first = false;
            var refusal = WriteValue(item, output, depth, exactNumbers);
            if (refusal != JsonCanonicalRefusal.None)
            {
                return refusal;
            }
        }

        output.Write("]"u8);
        return JsonCanonicalRefusal.None;
    }

    private static JsonCanonicalRefusal WriteObject(JsonElement obj, IBufferWriter<byte> output, int depth, bool exactNumbers)
    {
        if (depth > MaxDepth)
        {
            return JsonCanonicalRefusal.TooDeep;
        }

        var count = obj.GetPropertyCount();
        if (count == 0)
        {
            output.Write("{}"u8);
            return JsonCanonicalRefusal.None;
        }

        // The members' unescaped names go into one pooled buffer, and the members are sorted by them.
        var members = ArrayPool<Member>.Shared.Rent(count);
        var names = ArrayPool<byte>.Shared.Rent(256);
        try
        {
            var used = 0;
            var m = 0;
            foreach (var property in obj.EnumerateObject())
            {
                var raw = JsonMarshal.GetRawUtf8PropertyName(property);
                if (names.Length - used < raw.Length)
                {
                    // Unescaping never lengthens a name, so its raw length is enough room.
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Max(names.Length * 2, used + raw.Length));
                    names.AsSpan(0, used).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(names);
                    names = larger;
                }

                var length = Unescape(raw, names.AsSpan(used));
                if (length < 0)
                {
                    return JsonCanonicalRefusal.InvalidUnicode;
                }

                members[m++] = new Member(used, length, property.Value);
                used += length;
            }

            var sorted = members.AsSpan(0, m);
            var order = new NameOrder(names);
            if (m <= InsertionSortMembers)
            {
                // Span.Sort boxes a struct comparer and wraps it in a delegate: two allocations per object
                // for the few members a tool call's arguments have.
                for (var i = 1; i < sorted.Length; i++)
                {
                    var member = sorted[i];
                    var j = i - 1;
                    for (; j >= 0 && order.Compare(sorted[j], member) > 0; j--)
                    {
                        sorted[j + 1] = sorted[j];
                    }

                    sorted[j + 1] = member;
                }
            }
            else
            {
                sorted.Sort(order);
            }
            output.Write("{"u8);
            for (var i = 0; i < sorted.Length; i++)
            {
                var name = names.AsSpan(sorted[i].NameStart, sorted[i].NameLength);
                if (i > 0)
                {
                    // Sorted, so two members of one name are neighbours.
                    if (name.SequenceEqual(names.AsSpan(sorted[i - 1].NameStart, sorted[i - 1].NameLength)))
                    {
                        return JsonCanonicalRefusal.DuplicateMemberName;
                    }

                    output.Write(","u8);
                }

                WriteEscaped(name, output);
                output.Write(":"u8);
                var refusal = WriteValue(sorted[i].Value, output, depth, exactNumbers);
                if (refusal != JsonCanonicalRefusal.None)
                {
                    return refusal;
                }
            }

            output.Write("}"u8);
            return JsonCanonicalRefusal.None;
        }
        finally
        {
            // Cleared: a pooled Member holds its JsonDocument alive.
            ArrayPool<Member>.Shared.Return(members, clearArray: true);
            ArrayPool<byte>.Shared.Return(names);
        }
    }

    /// <summary>A string's content, <paramref name="raw"/> as it stood in the JSON text between the quotes.</summary>
    private static JsonCanonicalRefusal WriteString(ReadOnlySpan<byte> raw, IBufferWriter<byte> output)
    {
        if (!raw.Contains((byte)'\\'))
        {
            // No escape: the parser has refused raw quotes and control characters, so once the bytes are
            // valid UTF-8 they are already the canonical content.
            if (!Utf8.IsValid(raw))
            {
                return JsonCanonicalRefusal.InvalidUnicode;
            }

            output.Write("\""u8);
            output.Write(raw);
            output.Write("\""u8);
            return JsonCanonicalRefusal.None;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(raw.Length);
        try
        {
            var length = Unescape(raw, scratch);
            if (length < 0)
            {
                return JsonCanonicalRefusal.InvalidUnicode;
            }

            WriteEscaped(scratch.AsSpan(0, length), output);
            return JsonCanonicalRefusal.None;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// The UTF-8 text <paramref name="raw"/> (JSON string content) stands for, into
    /// <paramref name="into"/> (at least <c>raw.Length</c> long): its length, or -1 when it is not
    /// Unicode text (invalid UTF-8, a lone or reversed surrogate escape, a malformed escape).
    /// </summary>
    private static int Unescape(ReadOnlySpan<byte> raw, Span<byte> into)
    {
        var written = 0;
        while (true)
        {
            var backslash = raw.IndexOf((byte)'\\');
            var literal = backslash < 0 ? raw : raw[..backslash];
            if (!Utf8.IsValid(literal))
            {
                return -1;
            }

            literal.CopyTo(into[written..]);
            written += literal.Length;
            if (backslash < 0)
            {
                return written;
            }

            raw = raw[(backslash + 1)..];
            if (raw.IsEmpty)
            {
                return -1;
            }

            byte simple = raw[0] switch
            {
                (byte)'"' => (byte)'"',
                (byte)'\\' => (byte)'\\',
                (byte)'/' => (byte)'/',
                (byte)'b' => (byte)'\b',
                (byte)'f' => (byte)'\f',
                (byte)'n' => (byte)'\n',
                (byte)'r' => (byte)'\r',
                (byte)'t' => (byte)'\t',
                _ => 0,
            };
            if (simple != 0)
            {
                into[written++] = simple;
                raw = raw[1..];
                continue;
            }

            if (raw[0] != (byte)'u' || !TryHex4(raw[1..], out var unit))
            {
                return -1;
            }

            raw = raw[5..];
            int scalar = unit;
            if (char.IsHighSurrogate((char)unit))
            {
                // A high surrogate counts only as the first half of a pair written as two escapes.
                if (raw.Length < 6 || raw[0] != (byte)'\\' || raw[1] != (byte)'u'
                    || !TryHex4(raw[2..], out var low) || !char.IsLowSurrogate((char)low))
                {
                    return -1;
                }

                scalar = char.ConvertToUtf32((char)unit, (char)low);
                raw = raw[6..];
            }
            else if (char.IsLowSurrogate((char)unit))
            {
                return -1;
            }

            written += new Rune(scalar).EncodeToUtf8(into[written..]);
        }
    }

    private static bool TryHex4(ReadOnlySpan<byte> hex, out int value)
    {
        value = 0;
        if (hex.Length < 4)
        {
            return false;
        }

        for (var i = 0; i < 4; i++)
        {
            var digit = HexValue(hex[i]);
            if (digit < 0)
            {
                return false;
            }

            value = (value << 4) | digit;
        }

        return true;
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>
    /// Valid UTF-8 <paramref name="text"/> as a JCS string (RFC 8785 §3.2.2.2): <c>"</c> and
    /// <c>\</c> escaped, U+0000–U+001F as <c>\b \t \n \f \r</c> or <c>\u00xx</c> in lower-case hex,
    /// everything else (non-ASCII, U+2028, <c>/</c>) as it is.
    /// </summary>
    private static void WriteEscaped(ReadOnlySpan<byte> text, IBufferWriter<byte> output)
    {
        output.Write("\""u8);
        while (true)
        {
            var next = text.IndexOfAny(Escaped);
            if (next < 0)
            {
                output.Write(text);
                break;
            }

            output.Write(text[..next]);
            var c = text[next];
            switch (c)
            {
                case (byte)'"':
                    output.Write("\\\""u8);
                    break;
                case (byte)'\\':
                    output.Write("\\\\"u8);
                    break;
                case (byte)'\b':
                    output.Write("\\b"u8);
                    break;
                case (byte)'\t':
                    output.Write("\\t"u8);
                    break;
                case (byte)'\n':
                    output.Write("\\n"u8);
                    break;
                case (byte)'\f':
                    output.Write("\\f"u8);
                    break;
                case (byte)'\r':
                    output.Write("\\r"u8);
                    break;
                default:
                    ReadOnlySpan<byte> hex = "0123456789abcdef"u8;
                    output.Write([(byte)'\\', (byte)'u', (byte)'0', (byte)'0', hex[c >> 4], hex[c & 0xF]]);
                    break;
            }

            text = text[(next + 1)..];
        }

        output.Write("\""u8);
    }

    /// <summary>
    /// A number as ECMAScript's <c>Number.prototype.toString</c> writes its IEEE-754 double (RFC 8785
    /// §3.2.2.3). The shortest round-trip digits come from .NET's "R" format (shortest since .NET Core
    /// 3.0, nearest and ties to even as ECMAScript recommends); only the layout is ECMAScript's here.
    /// </summary>
    private static JsonCanonicalRefusal WriteNumber(ReadOnlySpan<byte> token, IBufferWriter<byte> output, bool exactNumbers)
    {
        // double.TryParse answers overflow with an infinity; JCS has no form for it.
        if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
        {
            return JsonCanonicalRefusal.NumberNotFinite;
        }

        if (number == 0)
        {
            // Zero and minus zero are both "0".
            output.Write("0"u8);
            return JsonCanonicalRefusal.None;
        }

        Span<byte> shortest = stackalloc byte[32];
        if (!number.TryFormat(shortest, out var length, "R", CultureInfo.InvariantCulture))
        {
            throw new UnreachableException("The round-trip form of a double fits in 32 bytes.");
        }

        // number = ±0.d1d2…dk × 10^n, with d1 ≠ 0 and dk ≠ 0.
        Span<byte> digits = stackalloc byte[32];
        var k = Decompose(shortest[..length], digits, out var n);
        digits = digits[..k];

        if (token.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0 && !IsSameInteger(token, digits, n))
        {
            return JsonCanonicalRefusal.IntegerNotExact;
        }

        if (exactNumbers && !IsSameDecimal(token, digits, n))
        {
            return JsonCanonicalRefusal.NumberNotExact;
        }

        Span<byte> text = stackalloc byte[40];
        var at = 0;
        if (number < 0)
        {
            text[at++] = (byte)'-';
        }

        if (k <= n && n <= 21)
        {
            // An integer below 10^21: its digits and then zeros.
            digits.CopyTo(text[at..]);
            at += k;
            text.Slice(at, n - k).Fill((byte)'0');
            at += n - k;
        }
        else if (n is > 0 and <= 21)
        {
            // A decimal point inside the digits.
            digits[..n].CopyTo(text[at..]);
            at += n;
            text[at++] = (byte)'.';
            digits[n..].CopyTo(text[at..]);
            at += k - n;
        }
        else if (n is > -6 and <= 0)
        {
            // 0.000001 ≤ |number| < 1: a leading "0." and zeros.
            text[at++] = (byte)'0';
            text[at++] = (byte)'.';
            text.Slice(at, -n).Fill((byte)'0');
            at += -n;
            digits.CopyTo(text[at..]);
            at += k;
        }
        else
        {
            // The exponent form: d[.ddd]e±x.
            text[at++] = digits[0];
            if (k > 1)
            {
                text[at++] = (byte)'.';
                digits[1..].CopyTo(text[at..]);
                at += k - 1;
            }

            var exponent = n - 1;
            text[at++] = (byte)'e';
            text[at++] = exponent < 0 ? (byte)'-' : (byte)'+';
            Math.Abs(exponent).TryFormat(text[at..], out var exponentLength, provider: CultureInfo.InvariantCulture);
            at += exponentLength;
        }

        output.Write(text[..at]);
        return JsonCanonicalRefusal.None;
    }

    /// <summary>
    /// The significant digits of .NET's round-trip form of a non-zero double (<c>-1.5E+300</c>,
    /// <c>0.00123</c>, <c>1000</c>) into <paramref name="digits"/>: their count, and <paramref name="n"/>
    /// such that the value is 0.digits × 10^n.
    /// </summary>
    private static int Decompose(ReadOnlySpan<byte> text, Span<byte> digits, out int n)
    {
        n = 0;
        var count = 0;
        var point = false;
        var i = text[0] == (byte)'-' ? 1 : 0;
        for (; i < text.Length && text[i] != (byte)'E'; i++)
        {
            var c = text[i];
            if (c == (byte)'.')
            {
                point = true;
                continue;
            }

            if (!point)
            {
                n++;
            }

            if (count == 0 && c == (byte)'0')
            {
                // A leading zero moves the first significant digit one place right.
                n--;
                continue;
            }

            digits[count++] = c;
        }

        while (digits[count - 1] == (byte)'0')
        {
            count--;
        }

        if (i < text.Length)
        {
            n += int.Parse(text[(i + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }

        return count;
    }

    /// <summary>
    /// Whether the integer <paramref name="token"/> (no fraction, no exponent, no leading zero by
    /// JSON's grammar) is exactly 0.<paramref name="digits"/> × 10^<paramref name="n"/>, the value
    /// its double is written as.
    /// </summary>
    private static bool IsSameInteger(ReadOnlySpan<byte> token, ReadOnlySpan<byte> digits, int n)
    {
        if (token[0] == (byte)'-')
        {
            token = token[1..];
        }

        // Up to 15 digits every integer is a double (10^15 < 2^53).
        if (token.Length <= 15)
        {
            return true;
        }

        return token.Length == n && token.TrimEnd((byte)'0').SequenceEqual(digits);
    }

    /// <summary>
    /// Whether the number as written has exactly the decimal value of its canonical form
    /// (<paramref name="digits"/> × 10^(<paramref name="n"/> − digits)): <c>1E30</c> and <c>4.50</c> do,
    /// <c>333333333.33333329</c> and <c>9007199254740993.0</c> do not (a double rounds them).
    /// </summary>
    private static bool IsSameDecimal(ReadOnlySpan<byte> token, ReadOnlySpan<byte> digits, int n)
    {
        if (token[0] == (byte)'-')
        {
            token = token[1..];
        }

        var e = token.IndexOfAny((byte)'e', (byte)'E');
        var mantissa = e >= 0 ? token[..e] : token;
        long exponent = 0;
        if (e >= 0)
        {
            var text = token[(e + 1)..];
            var negative = text[0] == (byte)'-';
            text = text[0] is (byte)'-' or (byte)'+' ? text[1..] : text;
            foreach (var c in text)
            {
                // A finite double's exponent is small; a longer one was refused as not finite, or is zero's.
                exponent = Math.Min((exponent * 10) + (c - '0'), 100_000);
            }

            exponent = negative ? -exponent : exponent;
        }

        // The significant digits as written (without the point, leading or trailing zeros) and the
        // power of ten of the last of them.
        Span<byte> written = stackalloc byte[mantissa.Length];
        var count = 0;
        var point = mantissa.IndexOf((byte)'.');
        var fraction = point >= 0 ? mantissa.Length - point - 1 : 0;
        foreach (var c in mantissa)
        {
            if (c != (byte)'.' && (count > 0 || c != (byte)'0'))
            {
                written[count++] = c;
            }
        }

        if (count == 0)
        {
            // Zero in any spelling is zero.
            return digits.Length == 0 || digits.TrimStart((byte)'0').IsEmpty;
        }

        var trailing = count - written[..count].TrimEnd((byte)'0').Length;
        var significant = written[..(count - trailing)];
        var scale = exponent - fraction + trailing;
        return significant.SequenceEqual(digits) && scale == n - digits.Length;
    }

    /// <summary>One member of an object being canonicalized: where its unescaped name lies in the names buffer, and its value.</summary>
    private readonly record struct Member(int NameStart, int NameLength, JsonElement Value);

    /// <summary>
    /// Members by name compared as UTF-16 code units (RFC 8785 §3.2.3), on the UTF-8 bytes without
    /// decoding them. UTF-8 byte order is code point order, and UTF-16 order differs from it only
    /// between U+E000–U+FFFF (lead byte EE or EF) and a supplementary character (lead byte F0–F4,
    /// a surrogate pair, D800–DBFF first): there the order is reversed. Bytes after an identical
    /// prefix differ either at a lead byte or inside sequences of one length, where byte order holds.
    /// </summary>
    private readonly struct NameOrder(byte[] names) : IComparer<Member>
    {
        public int Compare(Member x, Member y)
        {
            var a = names.AsSpan(x.NameStart, x.NameLength);
            var b = names.AsSpan(y.NameStart, y.NameLength);
            var common = a.CommonPrefixLength(b);
            if (common == a.Length || common == b.Length)
            {
                return a.Length.CompareTo(b.Length);
            }

            var p = a[common];
            var q = b[common];
            if (p >= 0xEE && q >= 0xEE && (p >= 0xF0) != (q >= 0xF0))
            {
                return p >= 0xF0 ? -1 : 1;
            }

            return p.CompareTo(q);
        }
    }
}
