namespace Tessera.Core.Tests.Vault;

public sealed class SecretVaultTests : IAsyncDisposable
{
    private const string Value = "sk_live_upstream_value_0123456789";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
    private readonly MemoryAuditStore _auditStore = new();
    private readonly MasterKey _masterKey = new(RandomNumberGenerator.GetBytes(32));
    private readonly TesseraConfig _config;
    private readonly List<IAsyncDisposable> _logs = [];

    public SecretVaultTests()
    {
        _config = ConfigLoader.Load("""
            vault:
              retain_previous: 1h
            tools:
              - id: crm
                upstream: http://127.0.0.1:9102
                credential: { secret: crm-key, header: X-Api-Key }
                rotate_every: 30d
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
              - id: billing
                upstream: http://127.0.0.1:9103
                credential: { secret: billing-key, header: Authorization, format: "Bearer {secret}" }
                scopes:
                  read: { rules: [ "GET /invoices/*" ] }
            """, "tessera.yaml", Path.GetTempPath());
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ReadOnlyMemory<byte> Bytes(string s) => Encoding.UTF8.GetBytes(s);

    private async Task<SecretVault> StartAsync(ISecretStore? store = null, MasterKey? masterKey = null)
    {
        var log = new AuditLog(_auditStore, _time, NullLogger<AuditLog>.Instance);
        await log.StartAsync(Ct);
        _logs.Add(log);
        var vault = new SecretVault(store ?? new MemorySecretStore(_auditStore), masterKey ?? _masterKey, log, LiveConfig.Of(_config, _time), _time);
        await vault.LoadAsync(Ct);
        return vault;
    }

    /// <summary>A vault holding <c>crm-key</c>: <see cref="Value"/> put by carol, then rotated to <c>Value-v2</c> … <c>Value-v{versions}</c>.</summary>
    private async Task<SecretVault> StartWithCrmKeyAsync(int versions = 1)
    {
        var vault = await StartAsync();
        await vault.PutAsync("crm-key", Bytes(Value), "carol", null, Ct);
        for (var v = 2; v <= versions; v++)
        {
            await vault.RotateAsync("crm-key", Bytes($"{Value}-v{v}"), "carol", null, Ct);
        }

        return vault;
    }

    private static string? Credential(SecretVault vault, string name, string? format = null)
    {
        Assert.Equal(CredentialLookup.Found, vault.TryFormatCredential(name, format, out var value));
        return value;
    }

    [Fact]
    public async Task A_put_secret_is_injected_with_its_format_and_survives_a_restart()
    {
        var vault = await StartAsync();
        var result = await vault.PutAsync("billing-key", Bytes(Value), "carol", "req-1", Ct);

        Assert.Null(result.Error);
        Assert.Equal(1, result.Secret!.Version);
        Assert.Equal("Bearer " + Value, Credential(vault, "billing-key", "Bearer {secret}"));
        var restarted = await StartAsync();
        Assert.Equal(Value, Credential(restarted, "billing-key"));
    }

    [Fact]
    public async Task Nothing_stored_or_audited_contains_the_value()
    {
        var vault = await StartWithCrmKeyAsync(versions: 2);

        var stored = await new MemorySecretStore(_auditStore).LoadVersionsAsync(Ct);
        var needle = Encoding.UTF8.GetBytes(Value);
        Assert.All(stored, v =>
        {
            Assert.Equal(-1, v.Ciphertext.AsSpan().IndexOf(needle));
            Assert.Equal(-1, v.WrappedKey.AsSpan().IndexOf(needle));
        });
        Assert.All(_auditStore.Events, e => Assert.DoesNotContain(Value, Encoding.UTF8.GetString(e.Json), StringComparison.Ordinal));
        Assert.Equal(["secret.put", "secret.rotated"], _auditStore.Events.Select(e => e.Record.Type));
        Assert.Equal(["crm-key v1", "crm-key v2"], _auditStore.Events.Select(e => e.Record.Secret));
    }

    [Fact]
    public async Task Put_refuses_an_existing_secret_and_rotate_refuses_a_missing_one()
    {
        var vault = await StartWithCrmKeyAsync();

        var again = await vault.PutAsync("crm-key", Bytes("other"), "carol", null, Ct);
        var missing = await vault.RotateAsync("nope", Bytes("other"), "carol", null, Ct);

        Assert.Equal((VaultErrorKind.Conflict, RefusalCodes.SecretExists), (again.Error!.Kind, again.Error.Code));
        Assert.Equal((VaultErrorKind.NotFound, RefusalCodes.SecretNotFound), (missing.Error!.Kind, missing.Error.Code));
        Assert.Equal(Value, Credential(vault, "crm-key"));
        Assert.Equal([RefusalCodes.SecretExists, RefusalCodes.SecretNotFound],
            _auditStore.Events.Where(e => e.Record.Type == AuditTypes.SecretDenied).Select(e => e.Record.ReasonCode));
    }

    [Theory]
    [InlineData("", RefusalCodes.SecretValueSize)]
    [InlineData("line\nbreak", RefusalCodes.SecretValueNotText)]
    [InlineData("carriage\rreturn", RefusalCodes.SecretValueNotText)]
    [InlineData("nul\0byte", RefusalCodes.SecretValueNotText)]
    [InlineData("del\u007f", RefusalCodes.SecretValueNotText)]
    public async Task Values_that_could_smuggle_headers_are_refused_without_being_echoed(string value, string code)
    {
        var vault = await StartAsync();

        var result = await vault.PutAsync("crm-key", Bytes(value), "carol", null, Ct);

        Assert.Equal((VaultErrorKind.Invalid, code), (result.Error!.Kind, result.Error.Code));
        Assert.Equal(code, Assert.Single(_auditStore.Events, e => e.Record.Type == AuditTypes.SecretDenied).Record.ReasonCode);
        Assert.Equal(CredentialLookup.Missing, vault.TryFormatCredential("crm-key", null, out _));
        if (value.Length > 0)
        {
            Assert.DoesNotContain(value, result.Error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a b")]
    [InlineData("")]
    [InlineData("-leading")]
    public async Task Names_outside_the_naming_rule_are_refused(string name)
    {
        var vault = await StartAsync();

        var result = await vault.PutAsync(name, Bytes(Value), "carol", null, Ct);

        Assert.Equal((VaultErrorKind.Invalid, RefusalCodes.SecretNameInvalid), (result.Error!.Kind, result.Error.Code));
    }

    [Fact]
    public async Task Rotation_switches_at_once_and_destroys_the_previous_version_after_the_grace_period()
    {
        var vault = await StartWithCrmKeyAsync();
        _time.Advance(TimeSpan.FromMinutes(5));

        await vault.RotateAsync("crm-key", Bytes("new-value"), "carol", null, Ct);

        Assert.Equal("new-value", Credential(vault, "crm-key"));
        var retired = Assert.Single(Assert.Single(vault.List()).Retired);
        Assert.Equal(1, retired.Version);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromHours(1), retired.DestroyAfter);

        _time.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(0, await vault.DestroyExpiredAsync(Ct));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await vault.DestroyExpiredAsync(Ct));

        Assert.Empty(Assert.Single(vault.List()).Retired);
        var stored = await new MemorySecretStore(_auditStore).LoadVersionsAsync(Ct);
        Assert.Equal(2, Assert.Single(stored).Version);
        Assert.Equal(AuditTypes.SecretDestroyed, _auditStore.Events[^1].Record.Type);
    }

    [Fact]
    public async Task A_secret_older_than_its_tools_rotate_every_is_flagged_overdue()
    {
        var vault = await StartWithCrmKeyAsync();
        await vault.PutAsync("billing-key", Bytes(Value), "carol", null, Ct);

        _time.Advance(TimeSpan.FromDays(31));
        var now = _time.GetUtcNow();
        var list = vault.List();

        var crm = Assert.Single(list, s => s.Name == "crm-key");
        Assert.True(crm.IsOverdueAt(now));
        Assert.Equal(["crm"], crm.UsedBy);
        Assert.False(Assert.Single(list, s => s.Name == "billing-key").IsOverdueAt(now));
    }

    [Fact]
    public async Task Secrets_that_tools_need_but_the_vault_lacks_are_reported()
    {
        var vault = await StartWithCrmKeyAsync();

        Assert.Equal(["billing-key"], vault.MissingSecrets());
    }

    [Fact]
    public async Task Rekey_moves_every_data_key_to_a_new_key_and_the_old_key_is_gone()
    {
        var vault = await StartWithCrmKeyAsync();
        await vault.RotateAsync("crm-key", Bytes("v2"), "carol", null, Ct);
        await vault.PutAsync("billing-key", Bytes("b1"), "carol", null, Ct);
        var oldKey = Assert.Single(await new MemorySecretStore(_auditStore).LoadKeysAsync(Ct));

        var outcome = await vault.RekeyAsync("carol", null, Ct);

        Assert.Equal(3, outcome.Rewrapped);
        Assert.Equal([oldKey.Id], outcome.RemovedKeyIds);
        var keys = await new MemorySecretStore(_auditStore).LoadKeysAsync(Ct);
        Assert.Equal(outcome.KeyId, Assert.Single(keys).Id);
        var restarted = await StartAsync();
        Assert.Equal("v2", Credential(restarted, "crm-key"));
        Assert.Equal("b1", Credential(restarted, "billing-key"));
        Assert.Empty(restarted.FindBroken());
        Assert.All(await new MemorySecretStore(_auditStore).LoadVersionsAsync(Ct), v => Assert.Equal(outcome.KeyId, v.KeyId));
    }

    [Fact]
    public async Task A_different_master_key_decrypts_nothing()
    {
        var vault = await StartWithCrmKeyAsync();

        var other = await StartAsync(masterKey: new MasterKey(RandomNumberGenerator.GetBytes(32)));

        Assert.Equal(CredentialLookup.Broken, other.TryFormatCredential("crm-key", null, out var value));
        Assert.Null(value);
        Assert.Equal([new SecretVersionId("crm-key", 1)], other.FindBroken());
    }

    [Fact]
    public async Task Flipping_any_byte_of_a_stored_version_fails_its_integrity_check()
    {
        var vault = await StartWithCrmKeyAsync();
        var stored = Assert.Single(await new MemorySecretStore(_auditStore).LoadVersionsAsync(Ct));

        for (var field = 0; field < 2; field++)
        {
            var bytes = field == 0 ? stored.Ciphertext : stored.WrappedKey;
            for (var i = 0; i < bytes.Length; i++)
            {
                var copy = (byte[])bytes.Clone();
                copy[i] ^= 0x01;
                var tampered = field == 0 ? stored with { Ciphertext = copy } : stored with { WrappedKey = copy };

                var reloaded = await StartAsync(new FixedSecretStore(await new MemorySecretStore(_auditStore).LoadKeysAsync(Ct), [tampered]));

                Assert.Equal(CredentialLookup.Broken, reloaded.TryFormatCredential("crm-key", null, out var value));
                Assert.Null(value);
            }
        }
    }

    [Fact]
    public async Task Swapping_two_secrets_ciphertexts_or_versions_fails_their_integrity_check()
    {
        var vault = await StartWithCrmKeyAsync();
        await vault.PutAsync("billing-key", Bytes("billing-value"), "carol", null, Ct);
        await vault.RotateAsync("billing-key", Bytes("billing-value-2"), "carol", null, Ct);
        var keys = await new MemorySecretStore(_auditStore).LoadKeysAsync(Ct);
        var stored = await new MemorySecretStore(_auditStore).LoadVersionsAsync(Ct);
        var crm = stored.Single(v => v.Name == "crm-key");
        var billing = stored.Single(v => v.Name == "billing-key" && v.Version == 2);
        var billingV1 = stored.Single(v => v.Name == "billing-key" && v.Version == 1);

        // Both rows moved to each other's place: the name binding refuses both.
        var swapped = await StartAsync(new FixedSecretStore(keys, [
            crm with { WrappedKey = billing.WrappedKey, Ciphertext = billing.Ciphertext },
            billing with { WrappedKey = crm.WrappedKey, Ciphertext = crm.Ciphertext }]));
        Assert.Equal(CredentialLookup.Broken, swapped.TryFormatCredential("crm-key", null, out _));
        Assert.Equal(CredentialLookup.Broken, swapped.TryFormatCredential("billing-key", null, out _));

        // The retired version's ciphertext put back as the current one: the version binding refuses it.
        var rolledBack = await StartAsync(new FixedSecretStore(keys, [billing with { WrappedKey = billingV1.WrappedKey, Ciphertext = billingV1.Ciphertext }]));
        Assert.Equal(CredentialLookup.Broken, rolledBack.TryFormatCredential("billing-key", null, out _));
    }

    [Fact]
    public async Task Integrity_errors_name_the_version_and_carry_no_key_or_value()
    {
        var vault = await StartWithCrmKeyAsync();
        var stored = Assert.Single(await new MemorySecretStore(_auditStore).LoadVersionsAsync(Ct));
        var copy = (byte[])stored.Ciphertext.Clone();
        copy[^1] ^= 0x80;
        var key = Assert.Single(await new MemorySecretStore(_auditStore).LoadKeysAsync(Ct));
        var material = _masterKey.Derive(key.Salt, key.Purpose);

        var ex = Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(stored with { Ciphertext = copy }, material));

        Assert.Equal("secret crm-key v1 failed its integrity check: the stored ciphertext or its binding was altered, or the master key is wrong", ex.Message);
        Assert.Equal(new SecretVersionId("crm-key", 1), ex.Version);
    }

    [Fact]
    public async Task A_deleted_newest_version_is_detected_at_start_and_the_retired_one_is_never_injected()
    {
        var vault = await StartWithCrmKeyAsync(versions: 2);
        await vault.PutAsync("billing-key", Bytes(Value), "carol", null, Ct);

        // Someone with write access to the database deletes the row of version 2.
        var restarted = await StartAsync(new RolledBackStore(new MemorySecretStore(_auditStore), new SecretVersionId("crm-key", 2)));

        Assert.Equal(CredentialLookup.Broken, restarted.TryFormatCredential("crm-key", null, out var value));
        Assert.Null(value);
        Assert.Equal(CredentialLookup.Broken, restarted.TryHmacSha256("crm-key", "m"u8, new byte[32]));
        Assert.Equal(Value, Credential(restarted, "billing-key"));
        var rolledBack = Assert.Single(restarted.RolledBack());
        Assert.Equal(("crm-key", 1, 2), (rolledBack.Name, rolledBack.Stored, rolledBack.Recorded));
        var audited = Assert.Single(_auditStore.Events, e => e.Record.Type == AuditTypes.SecretRolledBack);
        Assert.Equal("crm-key", audited.Record.Secret);
        Assert.Equal(AuditOutcomes.Error, audited.Record.Outcome);
        Assert.Contains("v1", audited.Record.Reason, StringComparison.Ordinal);
        Assert.Contains("v2", audited.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_newest_stored_version_marked_retired_is_treated_as_rolled_back_even_if_the_audit_log_says_nothing()
    {
        var vault = await StartWithCrmKeyAsync(versions: 2);

        var restarted = await StartAsync(new RolledBackStore(new MemorySecretStore(_auditStore), new SecretVersionId("crm-key", 2), forgetRecords: true));

        Assert.Equal(CredentialLookup.Broken, restarted.TryFormatCredential("crm-key", null, out _));
        Assert.Single(restarted.RolledBack());
    }

    [Fact]
    public async Task Rotating_a_rolled_back_secret_stores_a_version_above_every_recorded_one()
    {
        var vault = await StartWithCrmKeyAsync(versions: 3);
        var restarted = await StartAsync(new RolledBackStore(new MemorySecretStore(_auditStore), new SecretVersionId("crm-key", 3)));

        var rotated = await restarted.RotateAsync("crm-key", Bytes(Value + "-v4"), "carol", null, Ct);

        Assert.Equal(4, rotated.Secret!.Version);
        Assert.Equal(Value + "-v4", Credential(restarted, "crm-key"));
        Assert.Empty(restarted.RolledBack());
    }

    [Fact]
    public async Task A_secret_whose_every_row_was_deleted_is_put_again_above_its_recorded_version()
    {
        var vault = await StartWithCrmKeyAsync(versions: 2);
        var restarted = await StartAsync(new RolledBackStore(new MemorySecretStore(_auditStore), new SecretVersionId("crm-key", 2), new SecretVersionId("crm-key", 1)));
        Assert.Equal(CredentialLookup.Missing, restarted.TryFormatCredential("crm-key", null, out _));

        var put = await restarted.PutAsync("crm-key", Bytes(Value + "-again"), "carol", null, Ct);

        Assert.Equal(3, put.Secret!.Version);
        Assert.Equal(Value + "-again", Credential(restarted, "crm-key"));
    }

    [Fact]
    public async Task A_secret_as_recorded_is_not_rolled_back()
    {
        var vault = await StartWithCrmKeyAsync(versions: 2);

        var restarted = await StartAsync();

        Assert.Empty(restarted.RolledBack());
        Assert.Equal(Value + "-v2", Credential(restarted, "crm-key"));
        Assert.DoesNotContain(_auditStore.Events, e => e.Record.Type == AuditTypes.SecretRolledBack);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var log in _logs)
        {
            await log.DisposeAsync();
        }

        _masterKey.Dispose();
    }

    private sealed class FixedSecretStore(IReadOnlyList<KeyEncryptionKey> keys, IReadOnlyList<SealedSecretVersion> versions) : ISecretStore
    {
        public Task<IReadOnlyList<KeyEncryptionKey>> LoadKeysAsync(CancellationToken cancellationToken) => Task.FromResult(keys);

        public Task<IReadOnlyList<SealedSecretVersion>> LoadVersionsAsync(CancellationToken cancellationToken) => Task.FromResult(versions);

        public Task<IReadOnlyDictionary<string, int>> LoadRecordedVersionsAsync(CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, int>>(new Dictionary<string, int>());
    }

    /// <summary>A store whose rows of some versions were deleted behind the vault's back; the audit log may or may not still know them.</summary>
    private sealed class RolledBackStore(ISecretStore inner, SecretVersionId removed, SecretVersionId? alsoRemoved = null, bool forgetRecords = false) : ISecretStore
    {
        public RolledBackStore(ISecretStore inner, SecretVersionId removed, bool forgetRecords)
            : this(inner, removed, null, forgetRecords)
        {
        }

        public Task<IReadOnlyList<KeyEncryptionKey>> LoadKeysAsync(CancellationToken cancellationToken) => inner.LoadKeysAsync(cancellationToken);

        public async Task<IReadOnlyList<SealedSecretVersion>> LoadVersionsAsync(CancellationToken cancellationToken) =>
            [.. (await inner.LoadVersionsAsync(cancellationToken)).Where(v => new SecretVersionId(v.Name, v.Version) != removed && new SecretVersionId(v.Name, v.Version) != alsoRemoved)];

        public async Task<IReadOnlyDictionary<string, int>> LoadRecordedVersionsAsync(CancellationToken cancellationToken) =>
            forgetRecords ? new Dictionary<string, int>() : await inner.LoadRecordedVersionsAsync(cancellationToken);
    }
}
