using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Tessera.Core.Protocol;

namespace Tessera.Server.Admin;

/// <summary>
/// Endpoint metadata of an admin route that reads a JSON body of at most <see cref="MaxBytes"/>.
/// A route without it takes no body: none, or the empty object <c>{}</c> the CLI sends.
/// </summary>
internal sealed record AdminBody(int MaxBytes)
{
    /// <summary>The bound of an admin body unless the route says otherwise: far above any real request.</summary>
    public const int DefaultMaxBytes = 64 * 1024;

    /// <summary>What a route without a body may still be sent (<c>{}</c> with some spaces).</summary>
    public const int NoBodyMaxBytes = 1024;

    public static readonly AdminBody Default = new(DefaultMaxBytes);

    /// <summary>
    /// Reading admin JSON: a repeated member and an unknown member are errors (which of two values
    /// was meant would be a guess; an unknown one is a typo or a probe), and so are comments,
    /// trailing commas and numbers in strings, as by default.
    /// </summary>
    private static readonly JsonSerializerOptions ReadOptions = new(AdminJson.Options)
    {
        AllowDuplicateProperties = false,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Whether the request carries a body at all (a declared length above zero, or chunked).</summary>
    public static bool IsPresent(HttpRequest request) =>
        request.ContentLength > 0
        || (request.ContentLength is null
            && (request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.Headers.TransferEncoding.Count > 0));

    /// <summary>
    /// Checks what can be checked before reading: the declared length and the content type; and
    /// makes the server itself stop a longer body (chunked, or longer than declared) at the limit.
    /// </summary>
    public static ProblemHttpResult? CheckHead(HttpContext context, int maxBytes)
    {
        var request = context.Request;

        // Reject a declared body over the route's limit before reading a byte of it.
        if (request.ContentLength > maxBytes)
        {
            return TooLarge(context, maxBytes);
        }

        // Reject anything but JSON in UTF-8: the body would be read as something it is not.
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var media)
            || !string.Equals(media.MediaType, "application/json", StringComparison.OrdinalIgnoreCase)
            || (media.CharSet is { } charset && !string.Equals(charset.Trim('"'), "utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            return AdminProblem.Refuse(context, 415, "Unsupported media type", RefusalCodes.AdminBodyMediaType, "Send the body as application/json (UTF-8).");
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = maxBytes;
        }

        return null;
    }

    /// <summary>
    /// Reads the whole body into <paramref name="buffer"/> (one byte longer than the limit, to see a
    /// longer body). A body cut short or over the server's limit is the client's failure (4xx).
    /// </summary>
    public static async Task<(int Length, ProblemHttpResult? Problem)> ReadAsync(HttpContext context, byte[] buffer, int maxBytes)
    {
        var length = 0;
        try
        {
            int read;
            while (length < buffer.Length && (read = await context.Request.Body.ReadAsync(buffer.AsMemory(length), context.RequestAborted)) > 0)
            {
                length += read;
            }
        }
        catch (BadHttpRequestException ex)
        {
            return (0, ex.StatusCode == 413
                ? TooLarge(context, maxBytes)
                : AdminProblem.Refuse(context, ex.StatusCode, "Bad request", RefusalCodes.AdminBodyUnreadable, "The body could not be read."));
        }

        return length > maxBytes ? (0, TooLarge(context, maxBytes)) : (length, null);
    }

    /// <summary>
    /// The body as one <typeparamref name="T"/>: a JSON object of exactly its members, each at most
    /// once and of its type. No body is <c>null</c> without a problem; the caller decides whether that is enough.
    /// </summary>
    public static async Task<(T? Value, ProblemHttpResult? Problem)> ReadObjectAsync<T>(HttpContext context, string shape)
        where T : class
    {
        var buffer = ArrayPool<byte>.Shared.Rent(DefaultMaxBytes + 1);
        try
        {
            var (length, problem) = await ReadAsync(context, buffer, DefaultMaxBytes);
            if (problem is not null)
            {
                return (null, problem);
            }

            if (length == 0)
            {
                return (null, null);
            }

            try
            {
                return JsonSerializer.Deserialize<T>(buffer.AsSpan(0, length), ReadOptions) is { } value
                    ? (value, null)
                    : (null, NotJson(context, RefusalCodes.AdminBodyInvalid, shape));
            }
            catch (JsonException)
            {
                return (null, NotJson(context, RefusalCodes.AdminBodyInvalid, shape));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A route without a body accepts none, or <c>{}</c>; anything else is refused rather than ignored.</summary>
    public static async Task<ProblemHttpResult?> ReadNothingAsync(HttpContext context)
    {
        var buffer = new byte[NoBodyMaxBytes + 1];
        var (length, problem) = await ReadAsync(context, buffer, NoBodyMaxBytes);
        if (problem is not null || length == 0)
        {
            return problem;
        }

        try
        {
            var reader = new Utf8JsonReader(buffer.AsSpan(0, length));
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject && reader.Read() && reader.TokenType == JsonTokenType.EndObject && !reader.Read())
            {
                return null;
            }
        }
        catch (JsonException)
        {
            // Refused below, like any other body.
        }

        return NotJson(context, RefusalCodes.AdminBodyNotExpected, "nothing, or an empty JSON object {}");
    }

    public static ProblemHttpResult TooLarge(HttpContext context, int maxBytes) =>
        AdminProblem.Refuse(context, 413, "Too large", RefusalCodes.AdminBodyTooLarge, $"The body must be at most {maxBytes} bytes.");

    private static ProblemHttpResult NotJson(HttpContext context, string code, string shape) => AdminProblem.BadRequest(context, code, $"Send JSON: {shape}.");
}
