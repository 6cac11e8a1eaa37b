using System.Buffers;
using System.Text.Unicode;

namespace Tessera.Core.Proxy;

/// <summary>
/// The query string of a proxied request, checked before it is forwarded exactly as received. Rules
/// match the path only, but the upstream reads the query too: a query it could read otherwise than
/// any other parser (a broken escape, an encoded line break, bytes that are not UTF-8, characters RFC
/// 3986 does not allow unencoded) is refused rather than guessed at. Written by hand for the same
/// reason as <see cref="ProxyPath"/>: the refusals are our policy.
/// </summary>
public static class ProxyQuery
{
    /// <summary>
    /// Characters that may appear unencoded: RFC 3986 <c>query</c> (pchar, <c>/</c>, <c>?</c>) plus
    /// <c>[</c> and <c>]</c>, which APIs use in parameter names (<c>filter[status]</c>) and no parser
    /// reads as a delimiter in a query. <c>%</c> must start an escape.
    /// </summary>
    private static readonly SearchValues<char> Allowed = SearchValues.Create(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?[]");

    /// <summary>Checks a query (without its leading <c>?</c>); returns why it is refused, or null when it may be forwarded.</summary>
    public static string? Check(ReadOnlySpan<char> query)
    {
        var nonAscii = false;
        for (var i = 0; i < query.Length; i++)
        {
            var c = query[i];
            if (c == '%')
            {
                if (i + 2 >= query.Length)
                {
                    return "incomplete percent-encoding";
                }

                var hi = HexValue(query[i + 1]);
                var lo = HexValue(query[i + 2]);
                if (hi < 0 || lo < 0)
                {
                    return "invalid percent-encoding";
                }

                var b = hi * 16 + lo;
                if (b is < 0x20 or 0x7F)
                {
                    return "encoded control character";
                }

                nonAscii |= b >= 0x80;
                i += 2;
            }
            else if (!Allowed.Contains(c))
            {
                return c is <= ' ' or >= '\u007F'
                    ? "raw control, space or non-ASCII character"
                    : $"'{c}' must be percent-encoded";
            }
        }

        // Reject encoded bytes that are not UTF-8 (overlong forms, surrogates, truncated sequences):
        // upstreams disagree on what they mean.
        return nonAscii && !IsUtf8(query) ? "percent-encoded bytes are not UTF-8" : null;
    }

    /// <summary>Decodes an already checked query to bytes and validates them as UTF-8.</summary>
    private static bool IsUtf8(ReadOnlySpan<char> query)
    {
        var rented = query.Length > 512 ? ArrayPool<byte>.Shared.Rent(query.Length) : null;
        try
        {
            Span<byte> buffer = rented is null ? stackalloc byte[query.Length] : rented;
            var length = 0;
            for (var i = 0; i < query.Length; i++)
            {
                if (query[i] == '%')
                {
                    buffer[length++] = (byte)(HexValue(query[i + 1]) * 16 + HexValue(query[i + 2]));
                    i += 2;
                }
                else
                {
                    buffer[length++] = (byte)query[i];
                }
            }

            return Utf8.IsValid(buffer[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
