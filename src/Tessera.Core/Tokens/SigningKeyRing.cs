using System.Collections.Immutable;

namespace Tessera.Core.Tokens;

/// <summary>
/// The immutable set of signing keys at one moment, ordered by activation. The signing key at time
/// t is the newest key activated at or before t. A key is published in JWKS from its creation
/// (so it is known before it signs) until the last token it could have signed has expired: the next
/// key's activation plus the maximum token lifetime plus clock skew.
/// </summary>
public sealed class SigningKeyRing
{
    private readonly ImmutableArray<SigningKey> _keys;
    private readonly ImmutableDictionary<string, SigningKey> _byKid;

    /// <summary>
    /// Refuses two keys with one kid: a token names its key by kid alone, so such a ring could not say
    /// which key verifies it. Rings are built only when the keys change (never per request), and the
    /// service builds them through <see cref="With"/> and <see cref="Without"/>, which keep kids unique,
    /// so this refusal marks a bug, not a race.
    /// </summary>
    public SigningKeyRing(IEnumerable<SigningKey> keys)
    {
        _keys = [.. keys.OrderBy(k => k.ActivatesAt).ThenBy(k => k.CreatedAt)];
        var byKid = ImmutableDictionary.CreateBuilder<string, SigningKey>(StringComparer.Ordinal);
        foreach (var key in _keys)
        {
            if (!byKid.TryAdd(key.Kid, key))
            {
                throw new ArgumentException($"two signing keys have the kid {key.Kid}", nameof(keys));
            }
        }

        _byKid = byKid.ToImmutable();
    }

    /// <summary>
    /// This ring with <paramref name="key"/> in it, in place of any key with its kid. A node may already
    /// hold the key under that kid (unsealed again from the store by a reload that ran between the
    /// commit and this call); both instances are the same stored key, and the caller's instance wins so
    /// the key it goes on using is the one in the ring.
    /// </summary>
    public SigningKeyRing With(SigningKey key) =>
        new(_keys.Where(k => !string.Equals(k.Kid, key.Kid, StringComparison.Ordinal)).Append(key));

    /// <summary>This ring without the keys named by <paramref name="kids"/> (by kid, whichever instance holds it).</summary>
    public SigningKeyRing Without(IReadOnlySet<string> kids) =>
        new(_keys.Where(k => !kids.Contains(k.Kid)));

    public ImmutableArray<SigningKey> Keys => _keys;

    /// <summary>The key that signs at <paramref name="now"/>, or null when none is active yet.</summary>
    public SigningKey? SigningKeyAt(DateTimeOffset now)
    {
        SigningKey? current = null;
        foreach (var key in _keys)
        {
            if (key.ActivatesAt <= now)
            {
                current = key;
            }
        }

        return current;
    }

    /// <summary>When <paramref name="key"/> stopped signing, or null while it still signs or has yet to.</summary>
    public DateTimeOffset? SupersededAt(SigningKey key, DateTimeOffset now)
    {
        var index = _keys.IndexOf(key);
        for (var i = index + 1; i < _keys.Length; i++)
        {
            if (_keys[i].ActivatesAt <= now)
            {
                return _keys[i].ActivatesAt;
            }
        }

        return null;
    }

    /// <summary>The keys to publish at <paramref name="now"/>: pending, current, and retired ones whose tokens may still be alive.</summary>
    public IEnumerable<SigningKey> PublishedAt(DateTimeOffset now, TimeSpan retention) =>
        _keys.Where(k => IsPublishedAt(k, now, retention));

    /// <summary>Whether <paramref name="key"/> is in JWKS at <paramref name="now"/>: not yet superseded, or superseded less than <paramref name="retention"/> ago.</summary>
    public bool IsPublishedAt(SigningKey key, DateTimeOffset now, TimeSpan retention) =>
        SupersededAt(key, now) is not { } superseded || superseded + retention > now;

    public SigningKey? Find(string kid) => _byKid.GetValueOrDefault(kid);

    /// <summary>
    /// The key a token of ours may be verified with: only one that is published at <paramref name="now"/>.
    /// A key that has left JWKS signed nothing that can still be alive, so a token under it is forged
    /// (with a leaked old key) or outlives every lifetime Tessera issues.
    /// </summary>
    public SigningKey? FindPublished(string kid, DateTimeOffset now, TimeSpan retention) =>
        Find(kid) is { } key && IsPublishedAt(key, now, retention) ? key : null;
}
