using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Tessera.Core.Protocol;

namespace Tessera.Server.OAuth;

/// <summary>
/// Reads an <c>application/x-www-form-urlencoded</c> OAuth request body defensively: bounded size,
/// bounded parameter count and length, and every parameter at most once (RFC 6749 §3.2) except the
/// ones RFC 8707 and RFC 8693 allow to repeat.
/// </summary>
internal sealed class OAuthForm
{
    /// <summary>An OAuth request is a few hundred bytes; 64 KiB leaves room for long assertions and tokens.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    private static readonly HashSet<string> Repeatable = new(StringComparer.Ordinal) { "resource", "audience" };

    private OAuthForm(Dictionary<string, string> single, Dictionary<string, List<string>> multi)
    {
        Parameters = single;
        _multi = multi;
    }

    private readonly Dictionary<string, List<string>> _multi;

    public IReadOnlyDictionary<string, string> Parameters { get; }

    public string? Get(string name) => Parameters.TryGetValue(name, out var v) ? v : null;

    public IReadOnlyList<string> GetAll(string name) => _multi.TryGetValue(name, out var v) ? v : [];

    public static async Task<(OAuthForm? Form, OAuthError? Error)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        // Reject requests whose body is not a form: OAuth endpoints take form parameters only.
        if (!HttpMethods.IsPost(request.Method))
        {
            return (null, OAuthError.InvalidRequest("Use POST."));
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !string.Equals(contentType.MediaType.Value, "application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return (null, OAuthError.InvalidRequest("The body must be application/x-www-form-urlencoded."));
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, new OAuthError(OAuthErrorCodes.InvalidRequest, "The request body is too large.", 413));
        }

        // Pooled: a fresh 64 KiB array per request would cost more than the rest of the parsing.
        var buffer = ArrayPool<byte>.Shared.Rent(MaxBodyBytes + 1);
        try
        {
            return await ParseAsync(request, buffer, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<(OAuthForm? Form, OAuthError? Error)> ParseAsync(HttpRequest request, byte[] buffer, CancellationToken cancellationToken)
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
            return (null, OAuthError.InvalidRequest("The request body could not be read."));
        }

        if (total > MaxBodyBytes)
        {
            return (null, new OAuthError(OAuthErrorCodes.InvalidRequest, "The request body is too large.", 413));
        }

        string body;
        try
        {
            body = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer, 0, total);
        }
        catch (DecoderFallbackException)
        {
            return (null, OAuthError.InvalidRequest("The request body is not valid UTF-8."));
        }

        Dictionary<string, StringValues> fields;
        try
        {
            using var reader = new FormReader(body) { ValueCountLimit = 64, KeyLengthLimit = 128, ValueLengthLimit = 16 * 1024 };
            fields = await reader.ReadFormAsync(cancellationToken);
        }
        catch (InvalidDataException)
        {
            return (null, OAuthError.InvalidRequest("The form has too many or too long parameters."));
        }

        var single = new Dictionary<string, string>(StringComparer.Ordinal);
        var multi = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (key, values) in fields)
        {
            if (Repeatable.Contains(key))
            {
                multi[key] = [.. values.Where(v => !string.IsNullOrEmpty(v)).Select(v => v!)];
                continue;
            }

            // Reject requests that repeat a parameter (RFC 6749 §3.2): which value counts would be a guess.
            if (values.Count > 1)
            {
                return (null, OAuthError.InvalidRequest($"The parameter '{Clip(key)}' is included more than once."));
            }

            // Empty values are treated as omitted (RFC 6749 §3.1).
            if (!string.IsNullOrEmpty(values[0]))
            {
                single[key] = values[0]!;
            }
        }

        return (new OAuthForm(single, multi), null);
    }

    private static string Clip(string value) => value.Length > 64 ? value[..64] + "…" : value;
}
