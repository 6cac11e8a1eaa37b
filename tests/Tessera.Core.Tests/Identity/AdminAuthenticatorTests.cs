namespace Tessera.Core.Tests.Identity;

public sealed class AdminAuthenticatorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tessera-admin-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Each_refusal_names_its_rule_and_the_bootstrap_token_is_admitted_without_one()
    {
        const string Bootstrap = "tsa_bootstrap-token-for-the-test";
        var admins = new AdminAuthenticator(LiveConfig.Of(ConfigLoader.Load("""
            server: { listen: http://127.0.0.1:8080 }
            """, "tessera.yaml", Path.GetTempPath()), new FakeTimeProvider()),
            SHA256.HashData(Encoding.UTF8.GetBytes(Bootstrap)));
        var ct = TestContext.Current.CancellationToken;

        Assert.Equal((null, RefusalCodes.AdminTokenMissing), Pick(await admins.AuthenticateAsync(null, ct)));
        Assert.Equal((null, RefusalCodes.AdminTokenInvalid), Pick(await admins.AuthenticateAsync("tsa_wrong", ct)));
        Assert.Equal((AdminAuthenticator.BootstrapAdminName, null), Pick(await admins.AuthenticateAsync(Bootstrap, ct)));
        Assert.Equal(RefusalCodes.AdminTokenMissing, (await admins.IdentifyAsync("", ct)).Code);
        Assert.Equal(RefusalCodes.AdminTokenInvalid, (await admins.IdentifyAsync("not.a.jwt", ct)).Code);
        Assert.Null((await admins.IdentifyAsync(Bootstrap, ct)).Code);

        static (string? Admin, string? Code) Pick((string? Admin, string? Reason, string? Code) result) => (result.Admin, result.Code);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_created_bootstrap_token_is_owner_only_in_an_owner_only_directory()
    {
        var dataDir = Path.Combine(_dir, "data");

        var hash = AdminAuthenticator.EnsureBootstrapToken(dataDir);

        Assert.Equal(32, hash.Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dataDir));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dataDir, AdminAuthenticator.BootstrapTokenFileName)));
        Assert.Equal(hash, AdminAuthenticator.EnsureBootstrapToken(dataDir));
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.OtherWrite)]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void An_existing_bootstrap_token_that_group_or_others_may_read_or_write_is_refused(UnixFileMode extra)
    {
        AdminAuthenticator.EnsureBootstrapToken(_dir);
        var path = Path.Combine(_dir, AdminAuthenticator.BootstrapTokenFileName);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);

        var ex = Assert.Throws<InvalidOperationException>(() => AdminAuthenticator.EnsureBootstrapToken(_dir));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("group or others", ex.Message, StringComparison.Ordinal);
    }
}
