using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Tessera.Core.Audit;

/// <summary>
/// A recorded event: the record plus its place in the chain. <see cref="Json"/> is the exact
/// UTF-8 text that was hashed and stored; <see cref="Hash"/> = SHA-256(<see cref="Json"/>), and the
/// JSON includes <c>seq</c> and <c>prev_hash</c>, so modifying, deleting or reordering any event
/// breaks the chain at that event.
/// </summary>
public sealed record AuditEvent
{
    public const string GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

    public required long Seq { get; init; }
    public required DateTimeOffset Time { get; init; }
    public required AuditRecord Record { get; init; }
    public required string PrevHash { get; init; }
    public required string Hash { get; init; }
    public required byte[] Json { get; init; }

    /// <summary>
    /// The node whose chain holds the event (<c>cluster.node_id</c>) on a store of one chain per node
    /// (PostgreSQL), hashed as <c>node</c> so that an event moved to another node's chain fails
    /// verification; null on a store of one chain (SQLite), whose events name no node and so hash as
    /// they always did. A query on several chains sets it from the chain an event was read from.
    /// </summary>
    public string? Node { get; init; }

    /// <summary>The length of <see cref="FormatTime(DateTimeOffset)"/>'s output: <c>yyyy-MM-ddTHH:mm:ss.fffZ</c>.</summary>
    internal const int TimeLength = 24;

    /// <summary>Times are RFC 3339 UTC with millisecond precision.</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// Writes exactly what <see cref="FormatTime(DateTimeOffset)"/> returns, as UTF-8 digits into a span: the
    /// custom-format path of <see cref="DateTime.ToString(string, IFormatProvider)"/> showed in
    /// profiles of every audited request. Milliseconds are truncated, as <c>fff</c> does.
    /// </summary>
    internal static void FormatTime(DateTimeOffset time, Span<byte> destination)
    {
        var t = time.UtcDateTime;
        Digits(destination[..4], t.Year);
        destination[4] = (byte)'-';
        Digits(destination.Slice(5, 2), t.Month);
        destination[7] = (byte)'-';
        Digits(destination.Slice(8, 2), t.Day);
        destination[10] = (byte)'T';
        Digits(destination.Slice(11, 2), t.Hour);
        destination[13] = (byte)':';
        Digits(destination.Slice(14, 2), t.Minute);
        destination[16] = (byte)':';
        Digits(destination.Slice(17, 2), t.Second);
        destination[19] = (byte)'.';
        Digits(destination.Slice(20, 3), t.Millisecond);
        destination[23] = (byte)'Z';

        static void Digits(Span<byte> into, int value)
        {
            for (var i = into.Length - 1; i >= 0; i--)
            {
                into[i] = (byte)('0' + (value % 10));
                value /= 10;
            }
        }
    }

    /// <summary>Serialises the hashed form of an event (every field but <c>hash</c>), in a fixed field order.</summary>
    public static byte[] Serialize(long seq, DateTimeOffset time, AuditRecord r, string prevHash, string? node = null)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            WriteHashed(w, seq, time, r, prevHash, node);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Writes the hashed form (the bytes <see cref="Serialize"/> returns) to <paramref name="w"/> and
    /// flushes it, so the audit writer can reuse one writer and buffer for every event.
    /// </summary>
    internal static void WriteHashed(Utf8JsonWriter w, long seq, DateTimeOffset time, AuditRecord r, string prevHash, string? node = null)
    {
        w.WriteStartObject();
        WriteBody(w, seq, node, time, r);
        w.WriteString("prev_hash", prevHash);
        w.WriteEndObject();
        w.Flush();
    }

    /// <summary>Writes the event as JSON Lines output does: the hashed fields plus <c>hash</c>.</summary>
    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        WriteBody(w, Seq, Node, Time, Record);
        w.WriteString("prev_hash", PrevHash);
        w.WriteString("hash", Hash);
        w.WriteEndObject();
    }

    private static void WriteBody(Utf8JsonWriter w, long seq, string? node, DateTimeOffset time, AuditRecord r)
    {
        w.WriteNumber("seq", seq);

        // Only on a store of one chain per node, so events of a single chain hash as they always did.
        Optional(w, "node", node);
        Span<byte> formatted = stackalloc byte[TimeLength];
        FormatTime(time, formatted);
        w.WriteString("time"u8, formatted);
        w.WriteString("type", r.Type);
        w.WriteString("outcome", r.Outcome);
        Optional(w, "principal", r.Principal);
        Optional(w, "agent", r.Agent);
        OptionalArray(w, "actor_chain", r.ActorChain);
        Optional(w, "mission", r.Mission);
        Optional(w, "purpose", r.Purpose);
        Optional(w, "tool", r.Tool);
        OptionalArray(w, "scopes", r.Scopes);
        Optional(w, "jti", r.Jti);
        Optional(w, "reason", r.Reason);
        Optional(w, "reason_code", r.ReasonCode);
        Optional(w, "request_id", r.RequestId);
        Optional(w, "secret", r.Secret);
        Optional(w, "method", r.Method);
        Optional(w, "path", r.Path);
        Optional(w, "rule", r.Rule);
        if (r.Status is { } status)
        {
            w.WriteNumber("status", status);
        }

        if (r.LatencyMs is { } latency)
        {
            w.WriteNumber("latency_ms", Math.Round(latency, 3));
        }

        // Written last and only when present, so events from before MCP hash as they did.
        Optional(w, "mcp_method", r.McpMethod);
        Optional(w, "mcp_name", r.McpName);

        // Likewise for leases: events from before them hash as they did.
        Optional(w, "lease", r.Lease);
        Optional(w, "role", r.Role);

        // Only on checkpoint events, so every other event hashes as it did.
        Optional(w, "checkpoint", r.Checkpoint);

        // Only on configuration events, so every other event hashes as it did.
        Optional(w, "config_hash", r.ConfigHash);
        OptionalArray(w, "changes", r.Changes);
    }

    /// <summary>Reads an event back from its stored JSON; the caller checks the hash.</summary>
    public static AuditEvent Parse(byte[] json, string hash)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var record = new AuditRecord
        {
            Type = root.GetProperty("type").GetString()!,
            Outcome = root.GetProperty("outcome").GetString()!,
            Principal = Get(root, "principal"),
            Agent = Get(root, "agent"),
            ActorChain = GetArray(root, "actor_chain"),
            Mission = Get(root, "mission"),
            Purpose = Get(root, "purpose"),
            Tool = Get(root, "tool"),
            Scopes = GetArray(root, "scopes"),
            Jti = Get(root, "jti"),
            Reason = Get(root, "reason"),
            ReasonCode = Get(root, "reason_code"),
            RequestId = Get(root, "request_id"),
            Secret = Get(root, "secret"),
            Method = Get(root, "method"),
            Path = Get(root, "path"),
            Rule = Get(root, "rule"),
            Status = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt32(out var si) ? si : null,
            LatencyMs = root.TryGetProperty("latency_ms", out var l) && l.ValueKind == JsonValueKind.Number ? l.GetDouble() : null,
            McpMethod = Get(root, "mcp_method"),
            McpName = Get(root, "mcp_name"),
            Lease = Get(root, "lease"),
            Role = Get(root, "role"),
            Checkpoint = Get(root, "checkpoint"),
            ConfigHash = Get(root, "config_hash"),
            Changes = GetArray(root, "changes"),
        };
        return new AuditEvent
        {
            Seq = root.GetProperty("seq").GetInt64(),
            Time = DateTimeOffset.Parse(root.GetProperty("time").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
            Record = record,
            PrevHash = root.GetProperty("prev_hash").GetString()!,
            Hash = hash,
            Json = json,
            Node = Get(root, "node"),
        };
    }

    private static string? Get(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static List<string>? GetArray(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(e => e.GetString() ?? "").ToList() : null;

    private static void Optional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static void OptionalArray(Utf8JsonWriter w, string name, IReadOnlyList<string>? values)
    {
        if (values is null || values.Count == 0)
        {
            return;
        }

        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }
}
