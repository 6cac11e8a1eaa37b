using System.Buffers;
using System.Text.Json;
using Tessera.Core.Protocol;
using Tessera.Core.Proxy;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;

namespace Tessera.Core.Approvals;

/// <summary>
/// RFC 9396 <c>authorization_details</c> of type <c>tessera_request</c>: the one exact request an
/// approval is bound to. Parsed strictly: one object, exactly these members, each well formed, and
/// the request allowed by one of the approved scopes' rules, so an approver never sees a request the
/// token could not make anyway. <see cref="Query"/> (without <c>?</c>) and <see cref="ContentType"/>
/// (a bare lower-case media type) are optional: absent, the request must have no query string and
/// the media type <see cref="DefaultContentType"/>.
/// </summary>
public sealed record ExactRequestDetail(string Tool, string Method, string Path, string BodySha256, string? Query = null, string? ContentType = null)
{
    public const string Type = "tessera_request";

    /// <summary>The media type an approval that names none allows.</summary>
    public const string DefaultContentType = "application/json";

    /// <summary>SHA-256 of no bytes: a request without a body and without a Content-Type matches only this.</summary>
    public const string EmptyBodySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private const int MaxLength = 4096;
    private static readonly SearchValues<char> Hex = SearchValues.Create("0123456789abcdef");
    private static readonly SearchValues<char> MediaTypeChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789!#$&-^_.+");

    /// <summary>The canonical JSON array carried by the approval and the token.</summary>
    public string ToJson() => AuthorizationDetail.Write(Type, w =>
    {
        w.WriteString("tool", Tool);
        w.WriteString("method", Method);
        w.WriteString("path", Path);
        w.WriteString("body_sha256", BodySha256);
        if (Query is not null)
        {
            w.WriteString("query", Query);
        }

        if (ContentType is not null)
        {
            w.WriteString("content_type", ContentType);
        }
    });

    /// <summary>
    /// Reads the detail back from a token this server signed (it wrote the canonical form); null when
    /// it is not exactly one well-formed <c>tessera_request</c>, which callers treat as a refusal.
    /// </summary>
    public static ExactRequestDetail? FromClaim(string json) => AuthorizationDetail.Read(json, Type, o =>
    {
        if (AuthorizationDetail.String(o, "tool") is not { } tool || AuthorizationDetail.String(o, "method") is not { } method
            || AuthorizationDetail.String(o, "path") is not { } path || AuthorizationDetail.String(o, "body_sha256") is not { } body)
        {
            return null;
        }

        // Fail closed: an optional member that is there but not a string binds nothing we can read.
        var query = AuthorizationDetail.String(o, "query");
        var contentType = AuthorizationDetail.String(o, "content_type");
        return (query is null && o.TryGetProperty("query", out _)) || (contentType is null && o.TryGetProperty("content_type", out _))
            ? null
            : new ExactRequestDetail(tool, method, path, body, query, contentType);
    });

    /// <summary>Parses and checks <paramref name="text"/> against the tool and scopes; returns null with the problem otherwise.</summary>
    public static ExactRequestDetail? Parse(string text, Tool tool, ScopeSet scopes, out string? problem)
    {
        problem = null;
        if (text.Length > MaxLength)
        {
            problem = $"authorization_details must be at most {MaxLength} characters";
            return null;
        }

        // Reject anything but one object: an approval binds exactly one request.
        if (AuthorizationDetail.ParseOne(text, new JsonDocumentOptions { MaxDepth = 4 }, "authorization_details is not JSON", out problem) is not { } detail)
        {
            return null;
        }

        string? type = null, toolId = null, method = null, path = null, body = null, query = null, contentType = null;
        bool hasQuery = false, hasContentType = false;
        foreach (var member in detail.EnumerateObject())
        {
            // Reject names and values that are not text: an escaped lone surrogate ("\ud800") is
            // valid JSON that no string can hold, and reading it throws.
            if (AuthorizationDetail.Text(member) is not { } name)
            {
                problem = "authorization_details has a member name that is not text";
                return null;
            }

            // Reject members we do not know and values that are not strings: nothing is ignored silently.
            if (member.Value.ValueKind != JsonValueKind.String)
            {
                problem = $"authorization_details member '{DisplayText.Clip(name)}' must be a string";
                return null;
            }

            if (AuthorizationDetail.Text(member.Value) is not { } value)
            {
                problem = $"authorization_details member '{DisplayText.Clip(name)}' is not text";
                return null;
            }

            switch (name)
            {
                case "type" when type is null: type = value; break;
                case "tool" when toolId is null: toolId = value; break;
                case "method" when method is null: method = value; break;
                case "path" when path is null: path = value; break;
                case "body_sha256" when body is null: body = value; break;
                case "query" when !hasQuery: query = value; hasQuery = true; break;
                case "content_type" when !hasContentType: contentType = value; hasContentType = true; break;
                default:
                    problem = $"authorization_details has an unknown or repeated member '{DisplayText.Clip(name)}'";
                    return null;
            }
        }

        if (type != Type)
        {
            problem = $"authorization_details type must be '{Type}'";
            return null;
        }

        if (toolId != tool.Id)
        {
            problem = $"authorization_details tool must be '{tool.Id}', the tool of this request";
            return null;
        }

        if (method is null || method.Length is 0 or > 16 || !method.All(char.IsAsciiLetterUpper))
        {
            problem = "authorization_details method must be an upper-case HTTP method";
            return null;
        }

        // Reject paths that are not already normalized: the approver must see exactly what the proxy will match.
        if (path is null || path.Length > 2048 || ProxyPath.Normalize(path, out _) is not { } normalized || normalized.Path != path)
        {
            problem = "authorization_details path must be a normalized absolute path";
            return null;
        }

        if (body is null || body.Length != 64 || body.AsSpan().ContainsAnyExcept(Hex))
        {
            problem = "authorization_details body_sha256 must be 64 lower-case hex digits";
            return null;
        }

        // Reject a query the proxy would refuse, or one written with its '?': the approver sees the
        // exact query string the request must carry (an empty one is "none": leave it out).
        if (query is not null && (query.Length is 0 or > 2048 || query[0] == '?' || ProxyQuery.Check(query) is not null))
        {
            problem = "authorization_details query must be a well-formed, non-empty query string without '?' (omit it for none)";
            return null;
        }

        // Reject anything but a bare media type in its canonical lower-case form: one spelling for
        // the approver to read; the request's parameters (charset) are not compared.
        if (contentType is not null && !IsMediaType(contentType))
        {
            problem = "authorization_details content_type must be a lower-case media type without parameters, like application/json";
            return null;
        }

        // Reject requests none of the scopes would let through at the proxy.
        var allowed = scopes.Any(s => tool.Rules.TryGetValue(s, out var rules) && rules.Any(r => r.Matches(method, path)));
        if (!allowed)
        {
            problem = $"no requested scope allows {method} {DisplayText.Clip(path)}";
            return null;
        }

        return new ExactRequestDetail(toolId, method, path, body, query, contentType);
    }

    /// <summary>
    /// Why a request's line and headers are not the approved ones, or null when they are: the same
    /// method, normalized path, query string and media type. The body is compared by its hash separately.
    /// </summary>
    /// <param name="method">The request's method, compared exactly.</param>
    /// <param name="path">The request's normalized path (<see cref="ProxyPath.Path"/>).</param>
    /// <param name="query">The query as received, with its <c>?</c>; empty when there is none.</param>
    /// <param name="contentType">The request's Content-Type header, or null when it has none. Compared
    /// without parameters and case-insensitively (RFC 9110 §8.3.1); none matches only an approved empty body.</param>
    public string? Mismatch(string method, string path, string query, string? contentType)
    {
        // Reject any other method or path: the approver approved exactly one request.
        if (!string.Equals(Method, method, StringComparison.Ordinal) || !string.Equals(Path, path, StringComparison.Ordinal))
        {
            return $"the approval allows only {Method} {Path}";
        }

        // Reject any other query string, byte for byte (an empty "?" is a query too); a query the
        // approval does not name is not allowed at all.
        if (Query is null ? query.Length > 0 : !(query.Length == Query.Length + 1 && query.AsSpan(1).SequenceEqual(Query)))
        {
            return Query is null ? "the approval allows no query string" : "the query string is not the approved one";
        }

        // Reject a body of another media type: the same bytes mean something else as a form.
        var approved = ContentType ?? DefaultContentType;
        if (contentType is null)
        {
            return BodySha256 == EmptyBodySha256 ? null : $"the approval allows only Content-Type {approved}";
        }

        var parameters = contentType.IndexOf(';', StringComparison.Ordinal);
        var media = (parameters >= 0 ? contentType.AsSpan(0, parameters) : contentType).Trim(" \t");
        return media.Equals(approved, StringComparison.OrdinalIgnoreCase) ? null : $"the approval allows only Content-Type {approved}";
    }

    /// <summary>RFC 6838 §4.2 <c>type/subtype</c>, lower case, without parameters.</summary>
    private static bool IsMediaType(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return text.Length <= 255 && slash > 0 && slash < text.Length - 1
            && !text.AsSpan(0, slash).ContainsAnyExcept(MediaTypeChars)
            && !text.AsSpan(slash + 1).ContainsAnyExcept(MediaTypeChars)
            && char.IsAsciiLetterOrDigit(text[0]) && char.IsAsciiLetterOrDigit(text[slash + 1]);
    }
}
