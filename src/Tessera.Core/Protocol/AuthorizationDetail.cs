using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Tessera.Core.Protocol;

/// <summary>
/// What every RFC 9396 <c>authorization_details</c> Tessera binds a token to has in common: an
/// array of exactly one object of one <c>type</c>, written by this server in one canonical form and
/// read back strictly (anything else binds nothing, which callers treat as a refusal).
/// </summary>
public static class AuthorizationDetail
{
    /// <summary>Writes <c>[{"type": type, ...members}]</c> as the approval and the token carry it.</summary>
    public static string Write(string type, Action<Utf8JsonWriter> members)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            w.WriteStartObject();
            w.WriteString("type", type);
            members(w);
            w.WriteEndObject();
            w.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Reads the one detail of <paramref name="type"/> from a token this server signed: null when the
    /// claim is not exactly one object of that type, or <paramref name="read"/> finds it malformed.
    /// </summary>
    public static T? Read<T>(string json, string type, Func<JsonElement, T?> read)
        where T : class
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            return r.ValueKind == JsonValueKind.Array && r.GetArrayLength() == 1 && r[0].ValueKind == JsonValueKind.Object
                && r[0].TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.ValueEquals(type)
                ? read(r[0])
                : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Reads a token request's <c>authorization_details</c>: an array of exactly one object, returned
    /// detached; or null with the problem (<paramref name="notJson"/> when it does not parse).
    /// </summary>
    public static JsonElement? ParseOne(string text, JsonDocumentOptions options, string notJson, out string? problem)
    {
        try
        {
            using var doc = JsonDocument.Parse(text, options);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Array || root.GetArrayLength() != 1 || root[0].ValueKind != JsonValueKind.Object)
            {
                problem = "authorization_details must be an array of exactly one object";
                return null;
            }

            problem = null;
            return root[0].Clone();
        }
        catch (JsonException)
        {
            problem = notJson;
            return null;
        }
    }

    /// <summary>A string member's value, or null when it is absent or not a string.</summary>
    public static string? String(JsonElement detail, string name) =>
        detail.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>The member's name, or null when it is not valid text (JSON can escape a lone surrogate, which no string holds).</summary>
    public static string? Text(JsonProperty member)
    {
        try
        {
            return member.Name;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The string's value, or null when it holds no valid UTF-16 text.</summary>
    public static string? Text(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
