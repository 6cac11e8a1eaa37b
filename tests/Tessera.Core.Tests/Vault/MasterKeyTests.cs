namespace Tessera.Core.Tests.Vault;

public sealed class MasterKeyTests : IDisposable
{
    private static readonly byte[] Plaintext = Encoding.UTF8.GetBytes("ghp_upstream-secret-value");
    private static readonly byte[] Name = Encoding.UTF8.GetBytes("secret:gh-token:v1");
    private readonly string _dir = Directory.CreateTempSubdirectory("tessera-master-key-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.GroupWrite)]
    [InlineData(UnixFileMode.OtherWrite)]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void An_existing_master_key_file_that_group_or_others_may_read_or_write_is_refused(UnixFileMode extra)
    {
        var path = Path.Combine(_dir, MasterKey.FileName);
        File.WriteAllText(path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);

        var ex = Assert.Throws<InvalidOperationException>(() => MasterKey.Load(_dir, null));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("group or others", ex.Message, StringComparison.Ordinal);
        Assert.Contains("chmod 600", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_created_master_key_is_owner_only_in_an_owner_only_directory()
    {
        var dataDir = Path.Combine(_dir, "data");

        using var key = MasterKey.Load(dataDir, null);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dataDir));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dataDir, MasterKey.FileName)));
        using var again = MasterKey.Load(dataDir, null);
    }

    [Fact]
    public void Sealed_data_opens_to_the_plaintext()
    {
        using var key = new MasterKey(RandomNumberGenerator.GetBytes(32));

        var sealedData = key.Seal(Plaintext, Name);

        Assert.Equal(Plaintext, key.Open(sealedData, Name));
        Assert.Equal(-1, sealedData.AsSpan().IndexOf(Plaintext));
    }

    [Fact]
    public void Sealing_twice_gives_different_ciphertexts() =>
        WithKey(key => Assert.NotEqual(key.Seal(Plaintext, Name), key.Seal(Plaintext, Name)));

    [Fact]
    public void Opening_under_another_name_throws() =>
        WithKey(key =>
        {
            var sealedData = key.Seal(Plaintext, Name);
            Assert.ThrowsAny<CryptographicException>(() => key.Open(sealedData, Encoding.UTF8.GetBytes("secret:crm-key:v1")));
        });

    [Fact]
    public void Every_flipped_byte_is_detected() =>
        WithKey(key =>
        {
            var sealedData = key.Seal(Plaintext, Name);
            for (var i = 0; i < sealedData.Length; i++)
            {
                var tampered = (byte[])sealedData.Clone();
                tampered[i] ^= 0x01;
                Assert.ThrowsAny<CryptographicException>(() => key.Open(tampered, Name));
            }
        });

    [Fact]
    public void Truncated_data_throws() =>
        WithKey(key =>
        {
            var sealedData = key.Seal(Plaintext, Name);
            Assert.ThrowsAny<CryptographicException>(() => key.Open(sealedData.AsSpan(0, 27), Name));
            Assert.ThrowsAny<CryptographicException>(() => key.Open(sealedData.AsSpan(0, sealedData.Length - 1), Name));
        });

    [Fact]
    public void Another_key_cannot_open_the_data()
    {
        using var one = new MasterKey(RandomNumberGenerator.GetBytes(32));
        using var other = new MasterKey(RandomNumberGenerator.GetBytes(32));

        Assert.ThrowsAny<CryptographicException>(() => other.Open(one.Seal(Plaintext, Name), Name));
    }

    [Theory]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    public void A_key_that_is_not_256_bits_is_refused(int length) =>
        Assert.Throws<ArgumentException>(() => new MasterKey(new byte[length]));

    [Fact]
    public void Load_creates_an_owner_only_key_file_and_reloads_the_same_key()
    {
        var dataDir = Path.Combine(_dir, "data", "nested");

        using var created = MasterKey.Load(dataDir, environmentValue: null);
        var path = Path.Combine(dataDir, MasterKey.FileName);

        Assert.True(File.Exists(path));
        Assert.EndsWith("(created)", created.Source, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        using var reloaded = MasterKey.Load(dataDir, environmentValue: null);
        Assert.Equal(path, reloaded.Source);
        Assert.Equal(Plaintext, reloaded.Open(created.Seal(Plaintext, Name), Name));
    }

    [Fact]
    public void The_environment_value_wins_over_the_file_and_creates_nothing()
    {
        var bytes = RandomNumberGenerator.GetBytes(32);

        using var fromEnv = MasterKey.Load(_dir, Convert.ToBase64String(bytes) + "\n");
        using var direct = new MasterKey((byte[])bytes.Clone());

        Assert.Equal(MasterKey.EnvironmentVariable, fromEnv.Source);
        Assert.False(File.Exists(Path.Combine(_dir, MasterKey.FileName)));
        Assert.Equal(Plaintext, direct.Open(fromEnv.Seal(Plaintext, Name), Name));
    }

    [Theory]
    [InlineData("definitely-not-base64-but-a-secret!")]
    [InlineData("c2hvcnQta2V5LW9mLTE2Yg==")]
    public void A_malformed_environment_key_is_refused_without_echoing_it(string value)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => MasterKey.Load(_dir, value));

        Assert.Contains(MasterKey.EnvironmentVariable, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(value, ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, MasterKey.FileName)));
    }

    [Fact]
    public void A_malformed_key_file_stops_start_up_rather_than_being_replaced()
    {
        var path = Path.Combine(_dir, MasterKey.FileName);
        File.WriteAllText(path, "not a key\n");

        var ex = Assert.Throws<InvalidOperationException>(() => MasterKey.Load(_dir, environmentValue: null));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not a key", ex.Message, StringComparison.Ordinal);
        Assert.Equal("not a key\n", File.ReadAllText(path));
    }

    private static void WithKey(Action<MasterKey> test)
    {
        using var key = new MasterKey(RandomNumberGenerator.GetBytes(32));
        test(key);
    }
}
