using System.Globalization;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Core.Audit;

/// <summary>
/// The file <c>tessera audit checkpoint export</c> writes and <c>tessera audit verify --checkpoint</c>
/// reads: the latest checkpoint of each chain and the public keys that verify them, self-contained so
/// that an investigator can keep it offline, away from anyone who can reach the database.
/// </summary>
public sealed record AuditCheckpointFile(DateTimeOffset ExportedAt, IReadOnlyList<ExportedCheckpoint> Checkpoints, IReadOnlyList<JsonWebKey> Keys)
{
    public const string Format = "tessera-audit-checkpoints";

    /// <summary>A file of checkpoints is a few kilobytes; a larger one is refused unread.</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>The file of the latest checkpoint of each verified chain, with the keys that signed them.</summary>
    public static AuditCheckpointFile Of(IEnumerable<RecordedCheckpoint> latest, DateTimeOffset exportedAt)
    {
        var recorded = latest.ToList();
        var keys = recorded.GroupBy(c => c.Kid, StringComparer.Ordinal).Select(g => g.First().Key).ToList();
        return new AuditCheckpointFile(exportedAt, [.. recorded.Select(c => new ExportedCheckpoint(c.EventSeq, c.Jws, c.Checkpoint, c.Kid))], keys);
    }

    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("format", Format);
        w.WriteNumber("version", 1);
        w.WriteString("exported_at", AuditEvent.FormatTime(ExportedAt));
        w.WriteStartArray("checkpoints");
        foreach (var c in Checkpoints)
        {
            w.WriteStartObject();
            if (c.Checkpoint.Node is { } node)
            {
                w.WriteString("node", node);
            }

            w.WriteNumber("seq", c.Checkpoint.Seq);
            w.WriteString("hash", c.Checkpoint.HeadHash);
            w.WriteString("time", AuditEvent.FormatTime(c.Checkpoint.Time));
            w.WriteNumber("event_seq", c.EventSeq);
            w.WriteString("kid", c.Kid);
            w.WriteString("jws", c.Jws);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("keys");
        foreach (var k in Keys)
        {
            Tokens.PublicJwkJson.Write(w, k);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>
    /// Reads a file as <see cref="WriteTo"/> writes it, or says why it is not one. The spelled-out
    /// statements are read as they are: <see cref="AuditCheckpointVerifier"/> compares them with the
    /// signed ones.
    /// </summary>
    public static AuditCheckpointFile? Parse(byte[] json, out string? problem)
    {
        problem = null;
        if (json.Length > MaxBytes)
        {
            problem = "is larger than 1 MiB";
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || Text(root, "format") != Format
                || !root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number || version.GetRawText() != "1")
            {
                problem = $"is not a {Format} file of version 1";
                return null;
            }

            if (!root.TryGetProperty("checkpoints", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0
                || !root.TryGetProperty("keys", out var keyList) || keyList.ValueKind != JsonValueKind.Array)
            {
                problem = "holds no checkpoints or no keys";
                return null;
            }

            var checkpoints = new List<ExportedCheckpoint>();
            foreach (var c in list.EnumerateArray())
            {
                if (c.ValueKind != JsonValueKind.Object || Text(c, "jws") is not { } jws || Text(c, "kid") is not { } kid || Text(c, "hash") is not { } hash
                    || !Number(c, "seq", out var seq) || !Number(c, "event_seq", out var eventSeq)
                    || Text(c, "time") is not { } time || !DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                {
                    problem = $"checkpoint {checkpoints.Count + 1} lacks jws, kid, seq, hash, time or event_seq";
                    return null;
                }

                checkpoints.Add(new ExportedCheckpoint(eventSeq, jws, new AuditCheckpoint(Text(c, "node"), seq, hash, at), kid));
            }

            var keys = new List<JsonWebKey>();
            foreach (var k in keyList.EnumerateArray())
            {
                if (k.ValueKind != JsonValueKind.Object)
                {
                    problem = "holds a key that is not a JWK";
                    return null;
                }

                keys.Add(new JsonWebKey { Kty = Text(k, "kty"), Crv = Text(k, "crv"), X = Text(k, "x"), Y = Text(k, "y"), Kid = Text(k, "kid"), Use = Text(k, "use"), Alg = Text(k, "alg") });
            }

            var exportedAt = Text(root, "exported_at") is { } e && DateTimeOffset.TryParse(e, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var x) ? x : default;
            return new AuditCheckpointFile(exportedAt, checkpoints, keys);
        }
        catch (JsonException)
        {
            problem = "is not JSON";
            return null;
        }
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool Number(JsonElement e, string name, out long value)
    {
        value = 0;
        return e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out value);
    }
}
