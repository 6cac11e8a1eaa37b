using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Protocol;
using Tessera.Core.Storage;
using Tessera.Core.Telemetry;

namespace Tessera.Core.Vault;

/// <summary>
/// Upstream secrets, encrypted at rest (envelope encryption, see <see cref="SecretEnvelope"/>) and
/// never handed out: the only consumer of a value is the proxy, which injects it into one upstream
/// request. Every change is committed with its audit event; the in-memory state (sealed versions
/// and derived key-encryption keys, never plaintext) is swapped only after the commit, so readers
/// never see a change that is not durable. Values are decrypted per use and the buffer is zeroed.
/// A secret whose newest stored version is older than the audit log says (a newer row was deleted:
/// a rollback) is never injected: it is reported at start and refused until it is rotated.
/// </summary>
public sealed class SecretVault(ISecretStore store, MasterKey masterKey, AuditLog audit, LiveConfig live, TimeProvider time) : IDisposable
{
    /// <summary>Secret values are injected into HTTP headers; larger ones are certainly a mistake.</summary>
    public const int MaxValueBytes = 16 * 1024;

    private readonly SemaphoreSlim _writes = new(1, 1);
    // Who needs each secret, for the configuration in force (rebuilt when a reload swaps it).
    // One reference, written whole, so a reader never sees one snapshot's key with another's map.
    private Tuple<ConfigSnapshot, ImmutableDictionary<string, ImmutableArray<string>>>? _usedBy;

    /// <summary>
    /// Who needs each secret: tools (by id) for their credential, approver groups (<c>webhook:&lt;group&gt;</c>)
    /// to sign their notifications; computed once per configuration snapshot.
    /// </summary>
    private ImmutableDictionary<string, ImmutableArray<string>> UsedBy(ConfigSnapshot snapshot)
    {
        if (Volatile.Read(ref _usedBy) is { } cached && ReferenceEquals(cached.Item1, snapshot))
        {
            return cached.Item2;
        }

        var config = snapshot.Config;
        var map = config.Tools
            .Where(t => t.Credential is not null)
            .Select(t => (Secret: t.Credential!.Secret, User: t.Id))
            .Concat(config.ApproverGroups.SelectMany(g => g.Webhooks.Select(w => (w.Secret, User: "webhook:" + g.Id))))
            .Distinct()
            .GroupBy(u => u.Secret, StringComparer.Ordinal)
            .ToImmutableDictionary(g => g.Key, g => g.Select(u => u.User).Order(StringComparer.Ordinal).ToImmutableArray(), StringComparer.Ordinal);
        Volatile.Write(ref _usedBy, Tuple.Create(snapshot, map));
        return map;
    }

    private VaultState _state = VaultState.Empty;

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        var loaded = await ReadStateAsync(cancellationToken);
        Volatile.Write(ref _state, loaded);
        foreach (var rollback in loaded.RolledBack.Values.OrderBy(r => r.Name, StringComparer.Ordinal))
        {
            await audit.AppendAsync(new AuditRecord
            {
                Type = AuditTypes.SecretRolledBack,
                Outcome = AuditOutcomes.Error,
                Secret = rollback.Name,
                Reason = $"the newest stored version is v{rollback.Stored} but v{rollback.Recorded} existed (audit log): a newer version was removed from storage; "
                    + "the secret is not injected until it is rotated",
            }, cancellationToken: cancellationToken);
        }
    }

    /// <summary>
    /// Re-reads the vault after another node changed it (a version added, rotated or destroyed, or the
    /// key-encryption key changed). Under the write lock, so a local change is never overwritten by an
    /// older read; a rollback found here was already recorded by the node that loaded it at start.
    /// </summary>
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        await _writes.WaitAsync(cancellationToken);
        try
        {
            Volatile.Write(ref _state, await ReadStateAsync(cancellationToken));
        }
        finally
        {
            _writes.Release();
        }
    }

    private async Task<VaultState> ReadStateAsync(CancellationToken cancellationToken)
    {
        var keys = await store.LoadKeysAsync(cancellationToken);
        var versions = await store.LoadVersionsAsync(cancellationToken);
        var recorded = await store.LoadRecordedVersionsAsync(cancellationToken);
        var material = keys.ToImmutableDictionary(k => k.Id, k => new KeyMaterial(k, masterKey.Derive(k.Salt, k.Purpose)), StringComparer.Ordinal);
        var current = keys.Count == 0 ? null : keys.MaxBy(k => k.CreatedAt);
        var secrets = versions
            .GroupBy(v => v.Name, StringComparer.Ordinal)
            .ToImmutableDictionary(
                g => g.Key,
                g =>
                {
                    var newest = g.MaxBy(v => v.Version)!;
                    return new SecretEntry(newest, [.. g.Where(v => v.Version != newest.Version).OrderBy(v => v.Version)]);
                },
                StringComparer.Ordinal);

        // The highest version each secret ever had, by the audit log or by what is stored: a new
        // version is numbered above it, so a version number is never reused.
        var highest = recorded.ToImmutableDictionary(StringComparer.Ordinal);
        foreach (var (name, entry) in secrets)
        {
            if (entry.Current.Version > highest.GetValueOrDefault(name))
            {
                highest = highest.SetItem(name, entry.Current.Version);
            }
        }

        // Reject, until rotated, a secret whose newest stored version is not its newest version:
        // older than the audit log records, or itself marked retired by the rotation that followed it.
        var rolledBack = ImmutableDictionary.CreateBuilder<string, SecretRollback>(StringComparer.Ordinal);
        foreach (var (name, entry) in secrets)
        {
            var newest = highest[name];
            if (entry.Current.Version < newest || entry.Current.RetiredAt is not null)
            {
                rolledBack[name] = new SecretRollback(name, entry.Current.Version, Math.Max(newest, entry.Current.Version + (entry.Current.RetiredAt is null ? 0 : 1)));
            }
        }

        return new VaultState(secrets, material, current?.Id) { Highest = highest, RolledBack = rolledBack.ToImmutable() };
    }

    /// <summary>Secrets found rolled back at start (see <see cref="SecretRollback"/>); refused until rotated.</summary>
    public IReadOnlyList<SecretRollback> RolledBack() =>
        [.. Volatile.Read(ref _state).RolledBack.Values.OrderBy(r => r.Name, StringComparer.Ordinal)];

    /// <summary>Names of tool credentials that are not in the vault: those tools cannot be reached.</summary>
    public IReadOnlyList<string> MissingSecrets()
    {
        var state = Volatile.Read(ref _state);
        return [.. UsedBy(live.Current).Keys.Where(n => !state.Secrets.ContainsKey(n)).Order(StringComparer.Ordinal)];
    }

    /// <summary>Current versions that fail to decrypt (a wrong master key, or tampering); empty when all is well.</summary>
    public IReadOnlyList<SecretVersionId> FindBroken()
    {
        var state = Volatile.Read(ref _state);
        var broken = new List<SecretVersionId>();
        foreach (var entry in state.Secrets.Values)
        {
            foreach (var version in entry.All)
            {
                try
                {
                    CryptographicOperations.ZeroMemory(Open(state, version));
                }
                catch (VaultIntegrityException)
                {
                    broken.Add(new SecretVersionId(version.Name, version.Version));
                }
            }
        }

        return broken;
    }

    public IReadOnlyList<SecretInfo> List()
    {
        var state = Volatile.Read(ref _state);
        return [.. state.Secrets.Values.Select(Describe).OrderBy(s => s.Name, StringComparer.Ordinal)];
    }

    /// <summary>Stores the first version of a new secret. An existing secret is changed only by <see cref="RotateAsync"/>.</summary>
    public Task<VaultResult> PutAsync(string name, ReadOnlyMemory<byte> value, string? actor, string? requestId, CancellationToken cancellationToken) =>
        ChangeAsync(name, value, rotate: false, actor, requestId, cancellationToken);

    /// <summary>Stores a new version; the previous one is retired now and destroyed after <c>vault.retain_previous</c>.</summary>
    public Task<VaultResult> RotateAsync(string name, ReadOnlyMemory<byte> value, string? actor, string? requestId, CancellationToken cancellationToken) =>
        ChangeAsync(name, value, rotate: true, actor, requestId, cancellationToken);

    private async Task<VaultResult> ChangeAsync(string name, ReadOnlyMemory<byte> value, bool rotate, string? actor, string? requestId, CancellationToken cancellationToken)
    {
        var refusal = Validate(name, value.Span);
        if (refusal is not null)
        {
            await RecordRefusalAsync(name, refusal.Code, refusal.Message, actor, requestId, cancellationToken);
            return new VaultResult(null, refusal);
        }

        await _writes.WaitAsync(cancellationToken);
        try
        {
            var state = _state;
            var exists = state.Secrets.TryGetValue(name, out var entry);

            // Reject a put over an existing secret: replacing a value without a retained previous
            // version is what rotate is for, and an accidental put must not destroy a credential.
            if (!rotate && exists)
            {
                var message = $"secret '{name}' already exists; use rotate to store a new version";
                await RecordRefusalAsync(name, RefusalCodes.SecretExists, message, actor, requestId, cancellationToken);
                return VaultResult.Refused(VaultErrorKind.Conflict, RefusalCodes.SecretExists, message);
            }

            // Reject a rotation of a secret that was never put.
            if (rotate && !exists)
            {
                var message = $"secret '{name}' does not exist; use put to store its first version";
                await RecordRefusalAsync(name, RefusalCodes.SecretNotFound, message, actor, requestId, cancellationToken);
                return VaultResult.Refused(VaultErrorKind.NotFound, RefusalCodes.SecretNotFound, message);
            }

            var now = time.GetUtcNow();
            var changes = new List<StateChange>(2);
            var key = EnsureKey(ref state, now, changes);
            // Above every version this secret ever had, also one removed from storage behind our back.
            var id = new SecretVersionId(name, Math.Max(exists ? entry!.Current.Version : 0, state.Highest.GetValueOrDefault(name)) + 1);
            var (wrapped, ciphertext) = SecretEnvelope.Seal(value.Span, key.Material, key.Key.Id, id);
            var version = new SealedSecretVersion(name, id.Version, now, key.Key.Id, wrapped, ciphertext);
            var destroyAfter = now + live.Config.Vault.RetainPrevious;
            changes.Add(new SecretVersionAdded(version, exists ? entry!.Current.Version : null, exists ? destroyAfter : null));

            await audit.AppendAsync(new AuditRecord
            {
                Type = rotate ? AuditTypes.SecretRotated : AuditTypes.SecretPut,
                Outcome = AuditOutcomes.Allowed,
                Principal = actor,
                Secret = id.ToString(),
                Reason = exists
                    ? $"version {entry!.Current.Version} retired, destroyed after {AuditEvent.FormatTime(destroyAfter)}"
                    : $"sealed under {key.Key.Id}",
                RequestId = requestId,
            }, changes, CancellationToken.None);

            var updated = exists
                ? new SecretEntry(version, entry!.Retired.Add(entry.Current with { RetiredAt = now, DestroyAfter = destroyAfter }))
                : new SecretEntry(version, []);
            state = state with
            {
                Secrets = state.Secrets.SetItem(name, updated),
                Highest = state.Highest.SetItem(name, id.Version),
                RolledBack = state.RolledBack.Remove(name),
            };
            Volatile.Write(ref _state, state);
            return VaultResult.Ok(Describe(updated));
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>
    /// Wraps every live data key under a new key-encryption key and deletes the old ones, in one
    /// transaction; values are not re-encrypted. Readers keep working throughout: they switch to the
    /// new state when it is durable.
    /// </summary>
    public async Task<RekeyOutcome> RekeyAsync(string? actor, string? requestId, CancellationToken cancellationToken)
    {
        await _writes.WaitAsync(cancellationToken);
        try
        {
            var state = _state;
            var now = time.GetUtcNow();
            var key = NewKey(now);
            var rewrapped = new List<RewrappedKey>();
            var secrets = state.Secrets;
            foreach (var (name, entry) in state.Secrets)
            {
                var current = Rewrap(state, entry.Current, key, rewrapped);
                var retired = entry.Retired.Select(v => Rewrap(state, v, key, rewrapped)).ToImmutableList();
                secrets = secrets.SetItem(name, new SecretEntry(current, retired));
            }

            var removed = state.Keys.Keys.Order(StringComparer.Ordinal).ToList();
            await audit.AppendAsync(new AuditRecord
            {
                Type = AuditTypes.VaultRekeyed,
                Outcome = AuditOutcomes.Allowed,
                Principal = actor,
                Reason = $"{rewrapped.Count} data keys rewrapped under {key.Key.Id}; removed {(removed.Count == 0 ? "none" : string.Join(", ", removed))}",
                RequestId = requestId,
            }, [new VaultKeyChanged(key.Key, rewrapped, removed)], CancellationToken.None);

            Volatile.Write(ref _state, state with
            {
                Secrets = secrets,
                Keys = ImmutableDictionary.Create<string, KeyMaterial>(StringComparer.Ordinal).Add(key.Key.Id, key),
                CurrentKeyId = key.Key.Id,
            });
            return new RekeyOutcome(key.Key.Id, rewrapped.Count, removed);
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>Erases retired versions whose grace period has ended. Returns how many were destroyed.</summary>
    public async Task<int> DestroyExpiredAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (!Volatile.Read(ref _state).Secrets.Values.Any(e => e.Retired.Any(v => v.DestroyAfter <= now)))
        {
            return 0;
        }

        await _writes.WaitAsync(cancellationToken);
        try
        {
            var state = _state;
            var destroyed = new List<SecretVersionId>();
            var secrets = state.Secrets;
            foreach (var (name, entry) in state.Secrets)
            {
                var expired = entry.Retired.Where(v => v.DestroyAfter <= now).ToList();
                if (expired.Count > 0)
                {
                    destroyed.AddRange(expired.Select(v => new SecretVersionId(v.Name, v.Version)));
                    secrets = secrets.SetItem(name, entry with { Retired = entry.Retired.RemoveAll(v => v.DestroyAfter <= now) });
                }
            }

            if (destroyed.Count == 0)
            {
                return 0;
            }

            await audit.AppendAsync(new AuditRecord
            {
                Type = AuditTypes.SecretDestroyed,
                Outcome = AuditOutcomes.Allowed,
                Secret = string.Join(", ", destroyed),
                Reason = "retired versions past their grace period were erased",
            }, [new SecretVersionsDestroyed(destroyed, now)], CancellationToken.None);
            Volatile.Write(ref _state, state with { Secrets = secrets });
            return destroyed.Count;
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>
    /// The header value for a tool credential: the current version of <paramref name="name"/>,
    /// decrypted, placed into <paramref name="format"/> (<c>{secret}</c>), the plaintext buffer
    /// zeroed. The resulting string lives until the request that carries it is done.
    /// </summary>
    public CredentialLookup TryFormatCredential(string name, string? format, out string? value)
    {
        using var span = TesseraTrace.Start(TesseraTrace.VaultCredential);
        var lookup = FormatCredential(name, format, out value);
        if (span is not null && lookup != CredentialLookup.Found)
        {
            span.SetStatus(System.Diagnostics.ActivityStatusCode.Error, lookup == CredentialLookup.Missing ? "missing" : "broken");
        }

        return lookup;
    }

    private CredentialLookup FormatCredential(string name, string? format, out string? value)
    {
        value = null;
        var state = Volatile.Read(ref _state);
        if (!state.Secrets.TryGetValue(name, out var entry))
        {
            return CredentialLookup.Missing;
        }

        // Never inject a version that a newer one replaced (its row was deleted: a rollback).
        if (!state.RolledBack.IsEmpty && state.RolledBack.ContainsKey(name))
        {
            return CredentialLookup.Broken;
        }

        byte[] plaintext;
        try
        {
            plaintext = Open(state, entry.Current);
        }
        catch (VaultIntegrityException)
        {
            return CredentialLookup.Broken;
        }

        try
        {
            var secret = Encoding.UTF8.GetString(plaintext);
            value = format is null ? secret : format.Replace("{secret}", secret, StringComparison.Ordinal);
            return CredentialLookup.Found;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>
    /// HMAC-SHA256 of <paramref name="message"/> keyed by the current version of <paramref name="name"/>
    /// (the webhook signatures): the key is used inside the vault and its plaintext zeroed, never handed out.
    /// </summary>
    public CredentialLookup TryHmacSha256(string name, ReadOnlySpan<byte> message, Span<byte> mac)
    {
        var state = Volatile.Read(ref _state);
        if (!state.Secrets.TryGetValue(name, out var entry))
        {
            return CredentialLookup.Missing;
        }

        if (!state.RolledBack.IsEmpty && state.RolledBack.ContainsKey(name))
        {
            return CredentialLookup.Broken;
        }

        byte[] key;
        try
        {
            key = Open(state, entry.Current);
        }
        catch (VaultIntegrityException)
        {
            return CredentialLookup.Broken;
        }

        try
        {
            HMACSHA256.HashData(key, message, mac);
            return CredentialLookup.Found;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static VaultError? Validate(string name, ReadOnlySpan<byte> value)
    {
        // Reject names that could not be bound, logged or routed safely.
        if (!SecretName.IsValid(name))
        {
            return new VaultError(VaultErrorKind.Invalid, $"a secret name uses {SecretName.Rule}", RefusalCodes.SecretNameInvalid);
        }

        // Reject empty and oversized values; the message never echoes the value.
        if (value.IsEmpty || value.Length > MaxValueBytes)
        {
            return new VaultError(VaultErrorKind.Invalid, $"the value must be 1 to {MaxValueBytes} bytes", RefusalCodes.SecretValueSize);
        }

        // Reject values that are not text or hold control characters: they are injected into an
        // HTTP header, where CR or LF would let a stored value smuggle headers upstream.
        if (!Utf8.IsValid(value) || value.IndexOfAnyInRange((byte)0, (byte)0x1F) >= 0 || value.Contains((byte)0x7F))
        {
            return new VaultError(VaultErrorKind.Invalid, "the value must be UTF-8 text without control characters or line breaks", RefusalCodes.SecretValueNotText);
        }

        return null;
    }

    private Task<AuditEvent> RecordRefusalAsync(string name, string code, string message, string? actor, string? requestId, CancellationToken cancellationToken) =>
        audit.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.SecretDenied,
            Outcome = AuditOutcomes.Denied,
            Principal = actor,
            Secret = SecretName.IsValid(name) ? name : null,
            Reason = message,
            ReasonCode = code,
            RequestId = requestId,
        }, cancellationToken: cancellationToken);

    private SecretInfo Describe(SecretEntry entry)
    {
        var snapshot = live.Current;
        var usedBy = UsedBy(snapshot).TryGetValue(entry.Current.Name, out var tools) ? tools : [];
        var rotateEvery = snapshot.Config.Tools.Where(t => usedBy.Contains(t.Id) && t.RotateEvery is not null).Select(t => t.RotateEvery!.Value).DefaultIfEmpty().Min();
        return new SecretInfo(
            entry.Current.Name,
            entry.Current.Version,
            entry.Current.CreatedAt,
            entry.Current.KeyId,
            [.. entry.Retired.Select(v => new RetiredSecretVersion(v.Version, v.RetiredAt!.Value, v.DestroyAfter!.Value))],
            usedBy,
            rotateEvery == TimeSpan.Zero ? null : rotateEvery);
    }

    private KeyMaterial EnsureKey(ref VaultState state, DateTimeOffset now, List<StateChange> changes)
    {
        if (state.CurrentKeyId is { } id && state.Keys.TryGetValue(id, out var current))
        {
            return current;
        }

        var key = NewKey(now);
        changes.Add(new VaultKeyChanged(key.Key, [], []));
        state = state with { Keys = state.Keys.Add(key.Key.Id, key), CurrentKeyId = key.Key.Id };
        return key;
    }

    private KeyMaterial NewKey(DateTimeOffset now)
    {
        var key = new KeyEncryptionKey($"kek-{now:yyyyMMdd}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}", RandomNumberGenerator.GetBytes(32), now);
        return new KeyMaterial(key, masterKey.Derive(key.Salt, key.Purpose));
    }

    private static SealedSecretVersion Rewrap(VaultState state, SealedSecretVersion version, KeyMaterial key, List<RewrappedKey> rewrapped)
    {
        if (!state.Keys.TryGetValue(version.KeyId, out var old))
        {
            throw new VaultIntegrityException($"secret {new SecretVersionId(version.Name, version.Version)} is wrapped by an unknown key '{version.KeyId}'");
        }

        var wrapped = SecretEnvelope.Rewrap(version, old.Material, key.Material, key.Key.Id);
        rewrapped.Add(new RewrappedKey(new SecretVersionId(version.Name, version.Version), wrapped));
        return version with { KeyId = key.Key.Id, WrappedKey = wrapped };
    }

    private static byte[] Open(VaultState state, SealedSecretVersion version) =>
        state.Keys.TryGetValue(version.KeyId, out var key)
            ? SecretEnvelope.Open(version, key.Material)
            : throw new VaultIntegrityException($"secret {new SecretVersionId(version.Name, version.Version)} is wrapped by an unknown key '{version.KeyId}'");

    public void Dispose() => _writes.Dispose();

    private sealed record KeyMaterial(KeyEncryptionKey Key, byte[] Material);

    private sealed record SecretEntry(SealedSecretVersion Current, ImmutableList<SealedSecretVersion> Retired)
    {
        public IEnumerable<SealedSecretVersion> All => Retired.Prepend(Current);
    }

    private sealed record VaultState(ImmutableDictionary<string, SecretEntry> Secrets, ImmutableDictionary<string, KeyMaterial> Keys, string? CurrentKeyId)
    {
        /// <summary>The highest version each secret ever had (audit log or storage), also for secrets with no stored version left.</summary>
        public ImmutableDictionary<string, int> Highest { get; init; } = ImmutableDictionary.Create<string, int>(StringComparer.Ordinal);

        /// <summary>Secrets found rolled back at start: refused until rotated.</summary>
        public ImmutableDictionary<string, SecretRollback> RolledBack { get; init; } = ImmutableDictionary.Create<string, SecretRollback>(StringComparer.Ordinal);

        public static readonly VaultState Empty = new(
            ImmutableDictionary.Create<string, SecretEntry>(StringComparer.Ordinal),
            ImmutableDictionary.Create<string, KeyMaterial>(StringComparer.Ordinal),
            null);
    }
}
