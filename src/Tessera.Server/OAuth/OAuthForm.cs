using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Tessera.Core.Protocol;

namespace Tessera.Server.OAuth;

/// <summary>
/// Reads an <c>application/x-www-form-urlencoded</c> OAuth request body defensively: bounded size,
/// bounded parameter count and length, and every parameter at most once (RFC 6749 §3.2) except the
/// ones RFC 8707 and RFC 8693 allow to repeat.
/// </summary>
/// <remarks>
/// The body is parsed from its bytes, with the rules of ASP.NET Core's <c>FormReader</c> over the
/// decoded string (which this replaced because it showed in profiles of every token request: a
/// string of the whole body, a <c>StringBuilder</c> per word, then two dictionaries): a key runs to
/// the next <c>=</c>, a value to the next <c>&amp;</c>; a key without <c>=</c> at the end is dropped;
/// <c>+</c> is a space and <c>%XX</c> escapes are undone by <see cref="Uri.UnescapeDataString(string)"/>;
/// key and value limits count UTF-16 characters of the encoded text; keys differing only in case are the
/// same parameter, named as first sent. <c>OAuthFormTests</c> checks this against <c>FormReader</c>.
/// </remarks>
internal sealed class OAuthForm
{
    /// <summary>An OAuth request is a few hundred bytes; 64 KiB leaves room for long assertions and tokens.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    internal const int MaxParameters = 64;
    internal const int MaxKeyLength = 128;
    internal const int MaxValueLength = 16 * 1024;

    private static readonly Dictionary<string, List<string>> NoMulti = new(StringComparer.Ordinal);

    /// <summary>Parameter names every request sends, so their keys are not allocated per request.</summary>
    private static readonly string[] KnownKeys =
    [
        "grant_type", "scope", "resource", "audience", "client_id", "client_secret", "client_assertion", "client_assertion_type",
        "token", "token_type_hint", "subject_token", "subject_token_type", "actor_token", "actor_token_type",
        "requested_token_type", "purpose", "auth_req_id", "authorization_details",
    ];

    private static readonly byte[][] KnownKeyBytes = [.. KnownKeys.Select(Encoding.ASCII.GetBytes)];

    private OAuthForm(Dictionary<string, string> single, Dictionary<string, List<string>> multi)
    {
        Parameters = single;
        _multi = multi;
    }

    private readonly Dictionary<string, List<string>> _multi;

    public IReadOnlyDictionary<string, string> Parameters { get; }

    public string? Get(string name) => Parameters.TryGetValue(name, out var v) ? v : null;

    public IReadOnlyList<string> GetAll(string name) => _multi.TryGetValue(name, out var v) ? v : [];

    public static async Task<(OAuthForm? Form, Refusal? Refusal)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        // Reject requests whose body is not a form: OAuth endpoints take form parameters only.
        if (!HttpMethods.IsPost(request.Method))
        {
            return (null, new(RefusalCodes.FormNotPost, OAuthError.InvalidRequest("Use POST."), "not a POST"));
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !string.Equals(contentType.MediaType.Value, "application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return (null, new(RefusalCodes.FormNotFormEncoded, OAuthError.InvalidRequest("The body must be application/x-www-form-urlencoded."), "body not form-encoded"));
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, TooLarge);
        }

        // Pooled: a fresh 64 KiB array per request would cost more than the rest of the parsing.
        var buffer = ArrayPool<byte>.Shared.Rent(MaxBodyBytes + 1);
        try
        {
            var total = 0;
            try
            {
                int read;
                while (total <= MaxBodyBytes && (read = await request.Body.ReadAsync(buffer.AsMemory(total, MaxBodyBytes + 1 - total), cancellationToken)) > 0)
                {
                    total += read;
                }
            }
            catch (BadHttpRequestException)
            {
                return (null, new(RefusalCodes.FormUnreadable, OAuthError.InvalidRequest("The request body could not be read."), "body could not be read"));
            }

            if (total > MaxBodyBytes)
            {
                return (null, TooLarge);
            }

            return Parse(buffer.AsSpan(0, total));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Parses a whole form body (at most <see cref="MaxBodyBytes"/>).</summary>
    internal static (OAuthForm? Form, Refusal? Refusal) Parse(ReadOnlySpan<byte> body)
    {
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            return (null, new(RefusalCodes.FormInvalidUtf8, OAuthError.InvalidRequest("The request body is not valid UTF-8."), "body not valid UTF-8"));
        }

        // Pairs in the order sent; at most MaxParameters of them.
        Span<Range> keys = stackalloc Range[MaxParameters];
        Span<Range> values = stackalloc Range[MaxParameters];
        var count = 0;
        var position = 0;
        while (true)
        {
            var rest = body[position..];
            var equals = rest.IndexOf((byte)'=');
            var keyLength = equals < 0 ? rest.Length : equals;
            if (TooLong(rest[..keyLength], MaxKeyLength))
            {
                return (null, TooManyOrTooLong);
            }

            // A key without '=' at the end of the body is no parameter.
            if (equals < 0)
            {
                break;
            }

            var valueStart = position + equals + 1;
            var amp = body[valueStart..].IndexOf((byte)'&');
            var valueEnd = amp < 0 ? body.Length : valueStart + amp;
            if (TooLong(body[valueStart..valueEnd], MaxValueLength))
            {
                return (null, TooManyOrTooLong);
            }

            if (count == MaxParameters)
            {
                return (null, TooManyOrTooLong);
            }

            keys[count] = new Range(position, position + equals);
            values[count] = new Range(valueStart, valueEnd);
            count++;
            if (amp < 0)
            {
                break;
            }

            position = valueEnd + 1;
        }

        // Keys that differ only in case are one parameter (as ASP.NET Core reads forms), named as first sent.
        Span<int> group = stackalloc int[count];
        var names = new string[count];
        for (var i = 0; i < count; i++)
        {
            names[i] = DecodeKey(body[keys[i]]);
            group[i] = i;
            for (var j = 0; j < i; j++)
            {
                if (group[j] == j && string.Equals(names[i], names[j], StringComparison.OrdinalIgnoreCase))
                {
                    group[i] = j;
                    break;
                }
            }
        }

        var single = new Dictionary<string, string>(count, StringComparer.Ordinal);
        var multi = NoMulti;
        for (var i = 0; i < count; i++)
        {
            if (group[i] != i)
            {
                continue;
            }

            var name = names[i];
            if (name is "resource" or "audience")
            {
                var list = new List<string>();
                for (var j = i; j < count; j++)
                {
                    if (group[j] == i && !body[values[j]].IsEmpty && Decode(body[values[j]]) is { Length: > 0 } value)
                    {
                        list.Add(value);
                    }
                }

                if (ReferenceEquals(multi, NoMulti))
                {
                    multi = new Dictionary<string, List<string>>(StringComparer.Ordinal);
                }

                multi[name] = list;
                continue;
            }

            // Reject requests that repeat a parameter (RFC 6749 §3.2): which value counts would be a guess.
            for (var j = i + 1; j < count; j++)
            {
                if (group[j] == i)
                {
                    var message = $"The parameter '{DisplayText.Clip(name, 64)}' is included more than once.";
                    return (null, new(RefusalCodes.FormDuplicateParameter, OAuthError.InvalidRequest(message), $"parameter '{DisplayText.Clip(name, 64)}' repeated"));
                }
            }

            // Empty values are treated as omitted (RFC 6749 §3.1).
            if (!body[values[i]].IsEmpty && Decode(body[values[i]]) is { Length: > 0 } decoded)
            {
                single[name] = decoded;
            }
        }

        return (new OAuthForm(single, multi), null);
    }

    private static readonly Refusal TooManyOrTooLong = new(RefusalCodes.FormTooManyOrTooLong,
        OAuthError.InvalidRequest("The form has too many or too long parameters."), "too many or too long parameters");

    private static readonly Refusal TooLarge = new(RefusalCodes.FormTooLarge,
        new OAuthError(OAuthErrorCodes.InvalidRequest, "The request body is too large.", 413), $"body over {MaxBodyBytes} bytes");

    /// <summary>
    /// Whether the encoded text is longer than <paramref name="limit"/> UTF-16 characters (what FormReader
    /// counts): one per UTF-8 sequence, two for a 4-byte one. The input is valid UTF-8.
    /// </summary>
    private static bool TooLong(ReadOnlySpan<byte> encoded, int limit)
    {
        if (encoded.Length <= limit)
        {
            return false;
        }

        var chars = 0;
        foreach (var b in encoded)
        {
            if ((b & 0xC0) != 0x80)
            {
                chars += b >= 0xF0 ? 2 : 1;
            }
        }

        return chars > limit;
    }

    private static string DecodeKey(ReadOnlySpan<byte> encoded)
    {
        for (var k = 0; k < KnownKeyBytes.Length; k++)
        {
            if (encoded.SequenceEqual(KnownKeyBytes[k]))
            {
                return KnownKeys[k];
            }
        }

        return Decode(encoded);
    }

    /// <summary>'+' is a space, then %-escapes are undone exactly as FormReader does it.</summary>
    private static string Decode(ReadOnlySpan<byte> encoded)
    {
        var text = Encoding.UTF8.GetString(encoded);
        if (encoded.Contains((byte)'+'))
        {
            text = text.Replace('+', ' ');
        }

        return encoded.Contains((byte)'%') ? Uri.UnescapeDataString(text) : text;
    }

}
