using Tessera.Core.Leases;

namespace Tessera.Core.Tests.Leases;

public sealed class LeaseNamesTests
{
    [Fact]
    public void A_new_id_is_ls_and_32_lowercase_hex_digits_and_never_repeats()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => LeaseNames.NewId()).ToList();

        Assert.All(ids, id => Assert.Matches("^ls_[0-9a-f]{32}$", id));
        Assert.All(ids, id => Assert.True(LeaseNames.IsLeaseId(id)));
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void A_role_is_the_prefix_and_the_lease_id_within_postgresqls_63_bytes_and_needs_no_quoting()
    {
        var id = LeaseNames.NewId();

        var role = LeaseNames.RoleOf(id);

        Assert.Equal("tessera_" + id, role);
        Assert.True(Encoding.UTF8.GetByteCount(role) <= 63);
        Assert.Matches("^[a-z_][a-z0-9_]*$", role);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ls_")]
    [InlineData("ls_0123456789abcdef0123456789abcde")]
    [InlineData("ls_0123456789abcdef0123456789abcdef0")]
    [InlineData("ls_0123456789ABCDEF0123456789ABCDEF")]
    [InlineData("LS_0123456789abcdef0123456789abcdef")]
    [InlineData("xx_0123456789abcdef0123456789abcdef")]
    [InlineData("ls_0123456789abcdef0123456789abcde\"")]
    [InlineData("ls_0123456789abcdef0123456789abcd';")]
    [InlineData("ls_0123456789abcdef0123456789abcdeg")]
    [InlineData("ls_0123456789abcdef0123456789abcde ")]
    [InlineData("ls_0123456789abcdef0123456789abcde\u0660")]
    [InlineData("ls_0123456789abcdef0123456789abcde\uff10")]
    [InlineData("ls_0123456789abcdef0123456789abcde\0")]
    [InlineData("tessera_ls_0123456789abcdef0123456789abcdef")]
    public void A_string_not_written_as_a_lease_id_is_refused(string id) =>
        Assert.False(LeaseNames.IsLeaseId(id));
}
