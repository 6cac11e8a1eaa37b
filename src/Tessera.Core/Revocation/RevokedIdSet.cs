using System.Buffers.Text;
using System.Collections.Concurrent;

namespace Tessera.Core.Revocation;

/// <summary>
/// The set of revoked token and mission ids with their expiry. Our ids are 128 random bits written
/// as 22 base64url characters (missions prefixed <c>m_</c>); those are stored as a
/// <see cref="UInt128"/>, about 64 bytes an entry instead of ~130 for a string key, which keeps a
/// million revocations near 64 MB. Any other id (typed by an admin) falls back to a string set.
/// </summary>
internal sealed class RevokedIdSet
{
    private readonly ConcurrentDictionary<UInt128, long> _compact = new();
    private readonly ConcurrentDictionary<string, long> _other = new(StringComparer.Ordinal);

    public int Count => _compact.Count + _other.Count;

    public void Add(string id, long expiresAt)
    {
        if (TryCompact(id, out var key))
        {
            _compact.AddOrUpdate(key, expiresAt, (_, old) => Math.Max(old, expiresAt));
        }
        else
        {
            _other.AddOrUpdate(id, expiresAt, (_, old) => Math.Max(old, expiresAt));
        }
    }

    public bool Contains(string id) =>
        TryCompact(id, out var key) ? _compact.ContainsKey(key) : !_other.IsEmpty && _other.ContainsKey(id);

    public int Prune(long now)
    {
        var removed = 0;
        foreach (var (key, expiry) in _compact)
        {
            if (expiry < now && _compact.TryRemove(KeyValuePair.Create(key, expiry)))
            {
                removed++;
            }
        }

        foreach (var (key, expiry) in _other)
        {
            if (expiry < now && _other.TryRemove(KeyValuePair.Create(key, expiry)))
            {
                removed++;
            }
        }

        return removed;
    }

    private static bool TryCompact(string id, out UInt128 key)
    {
        key = default;
        var span = id.AsSpan();
        if (span.Length == 24 && span[0] == 'm' && span[1] == '_')
        {
            span = span[2..];
        }

        Span<byte> bytes = stackalloc byte[18];
        if (span.Length != 22 || !Base64Url.IsValid(span) || Base64Url.DecodeFromChars(span, bytes) != 16)
        {
            return false;
        }

        // Only canonical encodings: the unused low bits of the last character must be zero, so
        // exactly one string maps to each key.
        if ((DecodeSextet(span[21]) & 0b11) != 0)
        {
            return false;
        }

        key = System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(bytes);
        return true;
    }

    private static int DecodeSextet(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '-' => 62,
        _ => 63,
    };
}
