using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Tessera.Core.Protocol;

/// <summary>
/// The one rule for text that came from the network and that a person reads, in two halves.
/// <list type="bullet">
/// <item><see cref="IsDisplayable"/>: free text a caller writes for people (an approval's
/// <c>reason</c>, a decision's <c>comment</c>, a mission's <c>purpose</c>) is refused unless every
/// character is visible.</item>
/// <item><see cref="Escape"/>: everything else shown to a person (identifiers a caller chose, such as
/// an unauthenticated <c>client_id</c> in the audit log, and server messages echoing them) is shown
/// with each hidden character as a visible escape.</item>
/// </list>
/// Hidden characters: control characters (C0, DEL, C1) could forge lines or drive a terminal; format
/// characters (right-to-left overrides, bidi isolates, zero-width characters, tag characters) and line
/// or paragraph separators could make what a person sees differ from what the text says; a lone
/// surrogate is not text at all.
/// </summary>
public static class DisplayText
{
    /// <summary>Printable ASCII except the backslash: text made only of these is shown as it is.</summary>
    private static readonly SearchValues<char> Plain = SearchValues.Create(
        " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>True when <paramref name="text"/> has at most <paramref name="maxLength"/> UTF-16 units and no hidden character.</summary>
    public static bool IsDisplayable(string text, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > maxLength)
        {
            return false;
        }

        var rest = text.AsSpan();
        var plain = rest.IndexOfAnyExcept(Plain);
        if (plain < 0)
        {
            return true;
        }

        rest = rest[plain..];
        while (!rest.IsEmpty)
        {
            // By rune, not by char: a tag character (U+E0000–U+E007F) is two surrogates, each of category Surrogate.
            if (Rune.DecodeFromUtf16(rest, out var rune, out var used) != OperationStatus.Done || IsHidden(rune))
            {
                return false;
            }

            rest = rest[used..];
        }

        return true;
    }

    /// <summary>
    /// At most <paramref name="max"/> characters of <paramref name="value"/>, and an ellipsis when
    /// it was longer: enough of a caller's value to recognise it in an error or an audit reason,
    /// never a whole token or an unbounded string. The one clip rule of the code base.
    /// </summary>
    public static string Clip(string value, int max = 100) => value.Length > max ? value[..max] + "…" : value;

    /// <summary>
    /// <paramref name="text"/> with every hidden character written as a visible escape — <c>\n</c>,
    /// <c>\r</c>, <c>\t</c>, <c>\x1b</c> (up to U+00FF), <c>\u202e</c>, <c>\U000e0041</c>, and a
    /// lone surrogate as <c>\ud800</c> — and a backslash doubled, so that an escape in the output
    /// always stands for a hidden character and never for text that looks like one. Returns the same
    /// instance when there is nothing to escape.
    /// </summary>
    [return: NotNullIfNotNull(nameof(text))]
    public static string? Escape(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var first = text.AsSpan().IndexOfAnyExcept(Plain);
        if (first < 0)
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 16).Append(text, 0, first);
        var rest = text.AsSpan(first);
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var used) != OperationStatus.Done)
            {
                // A lone surrogate: escape that one unit and go on with the next.
                Hex(escaped, "\\u", rest[0], "x4");
                rest = rest[1..];
                continue;
            }

            if (rune.Value == '\\')
            {
                escaped.Append("\\\\");
            }
            else if (!IsHidden(rune))
            {
                escaped.Append(rest[..used]);
            }
            else
            {
                _ = rune.Value switch
                {
                    '\n' => escaped.Append("\\n"),
                    '\r' => escaped.Append("\\r"),
                    '\t' => escaped.Append("\\t"),
                    <= 0xFF => Hex(escaped, "\\x", rune.Value, "x2"),
                    <= 0xFFFF => Hex(escaped, "\\u", rune.Value, "x4"),
                    _ => Hex(escaped, "\\U", rune.Value, "x8"),
                };
            }

            rest = rest[used..];
        }

        return escaped.ToString();
    }

    private static bool IsHidden(Rune rune) => Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
        or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    private static StringBuilder Hex(StringBuilder into, string prefix, int value, string format) =>
        into.Append(prefix).Append(value.ToString(format, CultureInfo.InvariantCulture));
}
