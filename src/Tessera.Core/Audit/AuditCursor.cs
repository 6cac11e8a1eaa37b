using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;

namespace Tessera.Core.Audit;

/// <summary>
/// Where a page of audit events ends, as the <c>after</c> of the next page. On a store of one chain
/// (SQLite) it is the last sequence number, written as a number. On a store of one chain per node
/// (PostgreSQL) it is the last sequence number returned of each node's chain, written as an opaque
/// token: each node appends to its own chain in sequence order and commits in that order, so an event
/// not yet returned is always after its chain's number, whenever it commits and whatever its time,
/// and no event is skipped or repeated across pages while nodes append.
/// </summary>
/// <param name="AfterSeq">The single chain's last sequence number (0: from the start).</param>
/// <param name="ByNode">Per node, the last sequence number returned; null for a single chain's cursor.</param>
public sealed record AuditCursor(long AfterSeq, IReadOnlyDictionary<string, long>? ByNode)
{
    /// <summary>Longer tokens are refused unread: a cursor names a few nodes.</summary>
    private const int MaxLength = 8192;

    public static AuditCursor Start { get; } = new(0, null);

    /// <summary>Reads a cursor as <see cref="Format"/> writes it: digits, or a token of per-node sequence numbers.</summary>
    public static bool TryParse(string text, out AuditCursor cursor)
    {
        cursor = Start;
        if (text.Length is 0 or > MaxLength)
        {
            return false;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            cursor = new AuditCursor(seq, null);
            return true;
        }

        // Checked first: decoding text that is not base64url throws rather than returning false.
        if (!Base64Url.IsValid(text, out var decodedLength))
        {
            return false;
        }

        var bytes = new byte[decodedLength];
        if (!Base64Url.TryDecodeFromChars(text, bytes, out var length))
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(bytes.AsSpan(0, length));
            var byNode = new Dictionary<string, long>(StringComparer.Ordinal);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var node = reader.GetString()!;
                if (!reader.Read() || reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var last) || last < 0 || !byNode.TryAdd(node, last))
                {
                    return false;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return false;
            }

            cursor = new AuditCursor(0, byNode);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The single chain's sequence number, or the token of every node's.</summary>
    public string Format()
    {
        if (ByNode is null)
        {
            return AfterSeq.ToString(CultureInfo.InvariantCulture);
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var (node, last) in ByNode.OrderBy(n => n.Key, StringComparer.Ordinal))
            {
                w.WriteNumber(node, last);
            }

            w.WriteEndObject();
        }

        return Base64Url.EncodeToString(buffer.WrittenSpan);
    }

    /// <summary>The cursor after <paramref name="page"/>, which followed this one.</summary>
    public AuditCursor After(IReadOnlyList<AuditEvent> page)
    {
        if (ByNode is null)
        {
            return page.Count == 0 ? this : new AuditCursor(page[^1].Seq, null);
        }

        var byNode = new Dictionary<string, long>(ByNode, StringComparer.Ordinal);
        foreach (var e in page)
        {
            // Each node's events come in sequence order, so its last one is its largest.
            byNode[e.Node ?? ""] = e.Seq;
        }

        return new AuditCursor(0, byNode);
    }

    /// <summary>
    /// The first <paramref name="limit"/> events of several chains merged by time: each chain stays in
    /// sequence order, and of the chains' next events the earliest comes first (on a tie, the node
    /// first in ordinal order). The merge takes events from the front of each chain only, so the next
    /// page, after <see cref="After"/> of this one, continues exactly where this one stopped.
    /// </summary>
    public static List<AuditEvent> Merge(IReadOnlyList<IReadOnlyList<AuditEvent>> chains, int limit)
    {
        var merged = new List<AuditEvent>(Math.Min(limit, chains.Sum(c => c.Count)));
        var next = new int[chains.Count];
        while (merged.Count < limit)
        {
            var pick = -1;
            for (var i = 0; i < chains.Count; i++)
            {
                if (next[i] < chains[i].Count && (pick < 0 || Earlier(chains[i][next[i]], chains[pick][next[pick]])))
                {
                    pick = i;
                }
            }

            if (pick < 0)
            {
                break;
            }

            merged.Add(chains[pick][next[pick]++]);
        }

        return merged;

        static bool Earlier(AuditEvent a, AuditEvent b) =>
            a.Time != b.Time ? a.Time < b.Time : string.CompareOrdinal(a.Node, b.Node) < 0;
    }
}
