using System.Text;
using System.Text.Unicode;

namespace Tessera.Core.Proxy;

/// <summary>
/// The path of a proxied request, normalized once so that the rule that is matched and the path that
/// is forwarded are the same string (docs/reference/http-api.md, "Proxy"). Written by hand because the refusals are our
/// security policy: an upstream must never interpret a path differently from the rule that allowed it.
/// <list type="bullet">
/// <item>percent-encoded octets are decoded (they must form UTF-8);</item>
/// <item>encoded <c>/</c> or <c>\</c>, encoded dots, <c>%25</c> (double encoding), encoded control
/// characters, raw backslashes and empty segments (<c>//</c>) are refused as ambiguous;</item>
/// <item><c>.</c> segments are removed; <c>..</c> segments, and dot segments with <c>;</c> parameters
/// (<c>..;</c>), are refused, because upstreams disagree on whether and when they resolve them;</item>
/// <item>a trailing slash is kept, since <c>/a/</c> and <c>/a</c> may be different resources.</item>
/// </list>
/// </summary>
public sealed class ProxyPath
{
    private ProxyPath(string path, string encoded)
    {
        Path = path;
        Encoded = encoded;
    }

    /// <summary>No path at all: the upstream URL itself, as an MCP tool is reached.</summary>
    public static ProxyPath Endpoint { get; } = new("", "");

    /// <summary>The decoded, normalized path that rules are matched against, for example <c>/contacts/jane doe</c>.</summary>
    public string Path { get; }

    /// <summary>The same path re-encoded for the upstream request line, for example <c>/contacts/jane%20doe</c>.</summary>
    public string Encoded { get; }

    /// <summary>Normalizes a raw (still percent-encoded) path; returns null with the reason when it is ambiguous.</summary>
    public static ProxyPath? Normalize(ReadOnlySpan<char> raw, out string? refusal)
    {
        refusal = null;
        if (raw.IsEmpty)
        {
            return new ProxyPath("/", "/");
        }

        // Reject anything but an origin-form path.
        if (raw[0] != '/')
        {
            refusal = "the path must start with '/'";
            return null;
        }

        var segments = new List<string>();
        var forwarded = new List<string>();
        var trailingSlash = false;
        var rest = raw[1..];
        var decoded = new byte[raw.Length];
        while (true)
        {
            var slash = rest.IndexOf('/');
            var segment = slash >= 0 ? rest[..slash] : rest;
            var last = slash < 0;
            if (segment.IsEmpty)
            {
                // Reject empty segments ("//"); a single trailing slash is not one.
                if (!last)
                {
                    refusal = "empty path segment ('//')";
                    return null;
                }

                trailingSlash = segments.Count > 0;
                break;
            }

            var text = Decode(segment, decoded, out var encodedSegment, out refusal);
            if (text is null)
            {
                return null;
            }

            if (text == "..")
            {
                // Reject dot-dot: what it climbs out of depends on the upstream.
                refusal = "'..' path segment";
                return null;
            }

            var parameters = text.IndexOf(';', StringComparison.Ordinal);
            if (parameters >= 0 && text.AsSpan(0, parameters) is "." or "..")
            {
                // Reject dot segments with path parameters ("..;x", ".;"): servlet containers strip
                // the parameter first and then resolve the dot segment, out of what the rule allowed.
                refusal = "dot segment with ';' parameters";
                return null;
            }

            if (text == ".")
            {
                trailingSlash = last;
            }
            else
            {
                segments.Add(text);
                forwarded.Add(encodedSegment!);
                trailingSlash = false;
            }

            if (last)
            {
                break;
            }

            rest = rest[(slash + 1)..];
        }

        var path = new StringBuilder("/");
        var encoded = new StringBuilder("/");
        for (var i = 0; i < segments.Count; i++)
        {
            if (i > 0)
            {
                path.Append('/');
                encoded.Append('/');
            }

            path.Append(segments[i]);
            encoded.Append(forwarded[i]);
        }

        if (trailingSlash && segments.Count > 0)
        {
            path.Append('/');
            encoded.Append('/');
        }

        return new ProxyPath(path.ToString(), encoded.ToString());
    }

    /// <summary>
    /// Decodes one segment for matching and writes its forwarded form: percent-encoded unreserved
    /// characters are decoded (RFC 3986 §6.2.2.2), every other encoded octet stays encoded (upper-case
    /// hex), so an encoded <c>;</c> or <c>=</c> never turns into a delimiter upstream.
    /// </summary>
    private static string? Decode(ReadOnlySpan<char> segment, byte[] buffer, out string? forwarded, out string? refusal)
    {
        refusal = null;
        forwarded = null;
        var output = new StringBuilder(segment.Length);
        var length = 0;
        for (var i = 0; i < segment.Length; i++)
        {
            var c = segment[i];
            if (c == '%')
            {
                if (i + 2 >= segment.Length)
                {
                    refusal = "incomplete percent-encoding";
                    return null;
                }

                var hi = HexValue(segment[i + 1]);
                var lo = HexValue(segment[i + 2]);
                if (hi < 0 || lo < 0)
                {
                    refusal = "invalid percent-encoding";
                    return null;
                }

                var b = (byte)(hi * 16 + lo);
                refusal = b switch
                {
                    (byte)'/' or (byte)'\\' => "encoded '/' or '\\' in the path",
                    (byte)'.' => "encoded '.' in the path",
                    (byte)'%' => "double percent-encoding ('%25')",
                    < 0x20 or 0x7F => "encoded control character in the path",
                    _ => null,
                };
                if (refusal is not null)
                {
                    return null;
                }

                buffer[length++] = b;
                if (IsUnreserved((char)b))
                {
                    output.Append((char)b);
                }
                else
                {
                    output.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
                }

                i += 2;
            }
            else if (c == '\\')
            {
                refusal = "backslash in the path";
                return null;
            }
            else if (c <= 0x20 || c >= 0x7F)
            {
                refusal = "raw control, space or non-ASCII character in the path";
                return null;
            }
            else
            {
                buffer[length++] = (byte)c;
                if (IsPchar(c))
                {
                    output.Append(c);
                }
                else
                {
                    output.Append('%').Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
                }

            }
        }

        var bytes = buffer.AsSpan(0, length);
        if (!Utf8.IsValid(bytes))
        {
            refusal = "percent-encoded bytes are not UTF-8";
            return null;
        }

        forwarded = output.ToString();
        return Encoding.UTF8.GetString(bytes);
    }

    private static bool IsUnreserved(char c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '-' or '.' or '_' or '~';

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>RFC 3986 pchar: unreserved, sub-delims, ':' and '@' may appear unencoded in a segment.</summary>
    private static bool IsPchar(char c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9'
            or '-' or '.' or '_' or '~'
            or '!' or '$' or '&' or '\'' or '(' or ')' or '*' or '+' or ',' or ';' or '='
            or ':' or '@';
}
