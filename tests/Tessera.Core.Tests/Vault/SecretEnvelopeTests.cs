namespace Tessera.Core.Tests.Vault;

public sealed class SecretEnvelopeTests
{
    private static readonly byte[] Kek = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] Value = Encoding.UTF8.GetBytes("crm-upstream-key-3f9a1c7e5b2d");

    [Fact]
    public void A_sealed_value_opens_under_its_key_and_binding()
    {
        var version = Seal("crm-key", 1, "kek-1");

        Assert.Equal(Value, SecretEnvelope.Open(version, Kek));
        Assert.True(version.Ciphertext.AsSpan().IndexOf(Value) < 0, "the value is stored in clear");
    }

    [Fact]
    public void Flipping_any_bit_of_any_byte_of_the_ciphertext_or_the_wrapped_key_fails_the_integrity_check()
    {
        var version = Seal("crm-key", 1, "kek-1");

        foreach (var column in new[] { version.Ciphertext, version.WrappedKey })
        {
            for (var i = 0; i < column.Length; i++)
            {
                for (var bit = 0; bit < 8; bit++)
                {
                    column[i] ^= (byte)(1 << bit);
                    var failure = Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(version, Kek));
                    Assert.Equal(new SecretVersionId("crm-key", 1), failure.Version);
                    column[i] ^= (byte)(1 << bit);
                }
            }
        }

        Assert.Equal(Value, SecretEnvelope.Open(version, Kek));
    }

    [Fact]
    public void Truncated_or_extended_sealed_data_fails_the_integrity_check()
    {
        var version = Seal("crm-key", 1, "kek-1");

        Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(version with { Ciphertext = version.Ciphertext[..^1] }, Kek));
        Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(version with { Ciphertext = [.. version.Ciphertext, 0] }, Kek));
        Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(version with { WrappedKey = version.WrappedKey[..^1] }, Kek));
        Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(version with { Ciphertext = [] }, Kek));
        Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(version with { WrappedKey = new byte[27] }, Kek));
    }

    [Fact]
    public void A_sealed_version_moved_to_another_name_version_or_key_id_fails_the_integrity_check()
    {
        var version = Seal("crm-key", 2, "kek-1");

        Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(version with { Name = "gh-token" }, Kek));
        Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(version with { Version = 1 }, Kek));
        Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(version with { KeyId = "kek-2" }, Kek));
        Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(version, RandomNumberGenerator.GetBytes(32)));
    }

    [Fact]
    public void Swapping_the_ciphertexts_of_two_secrets_fails_both()
    {
        var crm = Seal("crm-key", 1, "kek-1");
        var github = Seal("gh-token", 1, "kek-1");

        Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(crm with { Ciphertext = github.Ciphertext, WrappedKey = github.WrappedKey }, Kek));
        Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(github with { Ciphertext = crm.Ciphertext, WrappedKey = crm.WrappedKey }, Kek));
        Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(crm with { Ciphertext = github.Ciphertext }, Kek));
    }

    [Fact]
    public void A_rewrapped_key_opens_only_under_the_new_key_and_its_id()
    {
        var version = Seal("crm-key", 1, "kek-1");
        var newKek = RandomNumberGenerator.GetBytes(32);

        var rewrapped = version with { KeyId = "kek-2", WrappedKey = SecretEnvelope.Rewrap(version, Kek, newKek, "kek-2") };

        Assert.Equal(Value, SecretEnvelope.Open(rewrapped, newKek));
        Assert.Equal(version.Ciphertext, rewrapped.Ciphertext);
        Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(rewrapped, Kek));
        Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(rewrapped with { KeyId = "kek-1" }, newKek));
    }

    [Fact]
    public void The_integrity_failure_names_the_version_and_never_the_value()
    {
        var version = Seal("crm-key", 3, "kek-1");

        var failure = Assert.Throws<VaultIntegrityException>(() => SecretEnvelope.Open(version with { KeyId = "kek-x" }, Kek));

        Assert.Contains("crm-key v3", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Encoding.UTF8.GetString(Value), failure.ToString(), StringComparison.Ordinal);
    }

    private static SealedSecretVersion Seal(string name, int version, string kekId)
    {
        var (wrapped, ciphertext) = SecretEnvelope.Seal(Value, Kek, kekId, new SecretVersionId(name, version));
        return new SealedSecretVersion(name, version, DateTimeOffset.UnixEpoch, kekId, wrapped, ciphertext);
    }
}
