using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Tessera.Core.Revocation;

/// <summary>
/// The set of revoked token and mission ids with their expiry, keyed by a 64-bit XxHash3 of the id
/// under a random per-process seed: about 60 bytes an entry instead of ~130 for a string key, and a
/// lookup that hashes 22 characters once. Two ids sharing a key is a chance of n/2^64 per check
/// (5·10⁻¹⁴ with a million revocations); it can only make a live token look revoked, never the
/// reverse, so it fails closed. The seed keeps an attacker from aiming at a collision.
/// </summary>
internal sealed class RevokedIdSet
{
    private readonly ConcurrentDictionary<ulong, long> _ids = new();
    private readonly long _seed = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));

    public int Count => _ids.Count;

    public void Add(string id, long expiresAt) =>
        _ids.AddOrUpdate(Key(id), expiresAt, (_, old) => Math.Max(old, expiresAt));

    public bool Contains(string id) => !_ids.IsEmpty && _ids.ContainsKey(Key(id));

    public int Prune(long now)
    {
        var removed = 0;
        foreach (var (key, expiry) in _ids)
        {
            if (expiry < now && _ids.TryRemove(KeyValuePair.Create(key, expiry)))
            {
                removed++;
            }
        }

        return removed;
    }

    private ulong Key(string id) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(id.AsSpan()), _seed);
}
