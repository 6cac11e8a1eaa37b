using System.Security.Cryptography;
using System.Text;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Storage;
using Tessera.Core.Vault;

namespace Tessera.Core.Tokens;

/// <summary>
/// Owns the signing keys: loads and decrypts them at start, creates the first, rotates with overlap
/// (a new key is published <c>signing_keys.publish_ahead</c> before it signs; an old one stays until
/// its last token has expired), and retires keys nobody can need any more (at start, at rotation, and
/// on a timer: see <c>SigningKeyRetirement</c> in the server). Tokens are verified only with keys that
/// are published at that moment, so a key stops verifying the instant it leaves JWKS, whenever the
/// retirement pass runs.
/// </summary>
public sealed class SigningKeyService(ISigningKeyStore store, MasterKey masterKey, AuditLog audit, TesseraConfig config, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _retiring = new(1, 1);
    private SigningKeyRing _ring = new([]);

    public SigningKeyRing Ring => Volatile.Read(ref _ring);

    /// <summary>How long a superseded key stays published: the longest token life plus clock skew.</summary>
    public TimeSpan Retention => config.Tokens.MaxTtl + TimeSpan.FromSeconds(60);

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var stored = await store.LoadAsync(cancellationToken);
        var keys = new List<SigningKey>(stored.Count);
        foreach (var s in stored)
        {
            keys.Add(Unseal(s));
        }

        Volatile.Write(ref _ring, new SigningKeyRing(keys));
        if (keys.Count == 0)
        {
            var now = time.GetUtcNow();
            await AddAsync(SigningKey.Generate(now, now), AuditTypes.KeyCreated, "first signing key", null, null, cancellationToken);
        }

        await RetireAsync(cancellationToken);
    }

    /// <summary>
    /// Re-reads the keys after another node (or this one: its own change-log entries come back) added
    /// or retired one: the ring becomes the stored set. Keys already in memory are kept as they are
    /// (the instance in the ring at the moment of the update, so an add that landed meanwhile keeps
    /// its instance), new ones are unsealed, and keys no longer stored leave the ring. A reload that
    /// read the store before a concurrent add or retire committed may undo that change in memory; the
    /// change's own log entry is applied after its commit and brings the ring back to the store.
    /// </summary>
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        var stored = await store.LoadAsync(cancellationToken);
        var known = Ring;
        var unsealed = new List<SigningKey>(stored.Count);
        foreach (var s in stored)
        {
            unsealed.Add(known.Find(s.Kid) ?? Unseal(s));
        }

        ImmutableInterlockedUpdate(ring => new SigningKeyRing(unsealed.Select(k => ring.Find(k.Kid) ?? k)));
    }

    /// <summary>Creates the next key; it is published now and signs from now + publish_ahead.</summary>
    public async Task<SigningKey> RotateAsync(string? actor, string? requestId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var key = SigningKey.Generate(now, now + config.SigningKeys.PublishAhead);
        await AddAsync(key, AuditTypes.KeyRotated, $"new key {key.Kid} signs from {AuditEvent.FormatTime(key.ActivatesAt)}", actor, requestId, cancellationToken);
        await RetireAsync(cancellationToken);
        return key;
    }

    /// <summary>The key that signs now. Throws when none is active, which only a broken store can cause.</summary>
    public SigningKey Current() =>
        Ring.SigningKeyAt(time.GetUtcNow()) ?? throw new InvalidOperationException("no signing key is active");

    /// <summary>The key that may verify a token naming <paramref name="kid"/> now: a published one, or null.</summary>
    public SigningKey? FindPublished(string kid) => Ring.FindPublished(kid, time.GetUtcNow(), Retention);

    private async Task AddAsync(SigningKey key, string type, string reason, string? actor, string? requestId, CancellationToken cancellationToken)
    {
        var pkcs8 = key.Ecdsa.ExportPkcs8PrivateKey();
        byte[] sealedKey;
        try
        {
            sealedKey = masterKey.Seal(pkcs8, Encoding.UTF8.GetBytes(key.Kid));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }

        var stored = new StoredSigningKey(key.Kid, SigningKey.Algorithm, sealedKey, key.CreatedAt, key.ActivatesAt);
        await audit.AppendAsync(new AuditRecord
        {
            Type = type,
            Outcome = AuditOutcomes.Allowed,
            Principal = actor,
            Reason = reason,
            RequestId = requestId,
        }, new SigningKeyAdded(stored), cancellationToken);

        // Published only after it is durable, and it signs only from ActivatesAt. On a cluster a reload
        // (this commit's own change-log entry) may have put the key in the ring already: With replaces
        // that instance rather than holding the kid twice.
        ImmutableInterlockedUpdate(ring => ring.With(key));
    }

    /// <summary>
    /// Deletes the keys that have left JWKS (superseded longer than <see cref="Retention"/> ago), each
    /// with a <c>key.retired</c> audit event in the same transaction, and drops them from memory.
    /// Returns the retired key ids. One pass at a time, so a key is never retired twice.
    /// </summary>
    public async Task<IReadOnlyList<string>> RetireAsync(CancellationToken cancellationToken)
    {
        await _retiring.WaitAsync(cancellationToken);
        try
        {
            var now = time.GetUtcNow();
            var ring = Ring;
            var retired = new List<SigningKey>();
            foreach (var key in ring.Keys)
            {
                if (ring.IsPublishedAt(key, now, Retention))
                {
                    continue;
                }

                await audit.AppendAsync(new AuditRecord
                {
                    Type = AuditTypes.KeyRetired,
                    Outcome = AuditOutcomes.Allowed,
                    Reason = $"key {key.Kid} retired: it stopped signing at {AuditEvent.FormatTime(ring.SupersededAt(key, now)!.Value)} and every token it signed has expired",
                }, new SigningKeyRetired(key.Kid), cancellationToken);
                retired.Add(key);
            }

            if (retired.Count > 0)
            {
                // By kid: a reload may have replaced (or already dropped) the instances seen above.
                var kids = retired.Select(k => k.Kid).ToHashSet(StringComparer.Ordinal);
                ImmutableInterlockedUpdate(r => r.Without(kids));
            }

            return [.. retired.Select(k => k.Kid)];
        }
        finally
        {
            _retiring.Release();
        }
    }

    private void ImmutableInterlockedUpdate(Func<SigningKeyRing, SigningKeyRing> update)
    {
        while (true)
        {
            var current = Volatile.Read(ref _ring);
            if (Interlocked.CompareExchange(ref _ring, update(current), current) == current)
            {
                return;
            }
        }
    }

    public void Dispose() => _retiring.Dispose();

    private SigningKey Unseal(StoredSigningKey stored)
    {
        byte[] pkcs8;
        try
        {
            pkcs8 = masterKey.Open(stored.SealedPrivateKey, Encoding.UTF8.GetBytes(stored.Kid));
        }
        catch (CryptographicException ex)
        {
            throw new InvalidOperationException($"signing key {stored.Kid} cannot be decrypted: wrong master key, or the stored key was altered", ex);
        }

        try
        {
            var ecdsa = ECDsa.Create();
            ecdsa.ImportPkcs8PrivateKey(pkcs8, out _);
            return new SigningKey(stored.Kid, ecdsa, stored.CreatedAt, stored.ActivatesAt);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }
}
