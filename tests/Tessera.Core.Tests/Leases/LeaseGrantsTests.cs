using Tessera.Core.Leases;

namespace Tessera.Core.Tests.Leases;

public sealed class LeaseGrantsTests
{
    [Fact]
    public void Render_puts_the_role_quoted_as_an_identifier_where_the_placeholder_is()
    {
        Assert.Equal("GRANT SELECT ON reporting.orders TO \"tessera_ls_0a\"", LeaseGrants.Render("GRANT SELECT ON reporting.orders TO {{role}}", "tessera_ls_0a"));
        Assert.Equal("GRANT r1 TO \"x\"; -- \"x\"", LeaseGrants.Render("GRANT r1 TO {{role}}; -- {{role}}", "x"));
    }

    [Theory]
    [InlineData("a\"b", "\"a\"\"b\"")]
    [InlineData("\"", "\"\"\"\"")]
    [InlineData("x\"; DROP ROLE admin; --", "\"x\"\"; DROP ROLE admin; --\"")]
    [InlineData("", "\"\"")]
    public void A_double_quote_in_a_name_is_doubled_so_it_never_ends_the_identifier(string name, string quoted) =>
        Assert.Equal(quoted, LeaseGrants.QuoteIdentifier(name));

    [Theory]
    [InlineData("GRANT SELECT ON t TO {{role}};")]
    [InlineData("GRANT SELECT ON t TO {{role}};  \n")]
    [InlineData("GRANT SELECT ON t TO {{role}};;")]
    public void Render_strips_a_trailing_semicolon(string grant) =>
        Assert.Equal("GRANT SELECT ON t TO \"r\"", LeaseGrants.Render(grant, "r"));

    [Theory]
    [InlineData("GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO {{role}}")]
    [InlineData("GRANT USAGE ON SCHEMA reporting TO {{role}};")]
    [InlineData("GRANT SELECT (id, total)\n  ON reporting.orders\n  TO {{role}}")]
    [InlineData("GRANT reporting_reader TO {{role}}")]
    public void A_single_statement_naming_the_role_is_a_grant(string grant) =>
        Assert.Null(LeaseGrants.Check(grant));

    [Theory]
    [InlineData("", "at most 4096 characters")]
    [InlineData("   ", "at most 4096 characters")]
    [InlineData("GRANT SELECT ON t TO reporter", "does not name the lease's role")]
    [InlineData("GRANT SELECT ON t TO {{ role }}", "does not name the lease's role")]
    [InlineData("GRANT SELECT ON t TO {{ROLE}}", "does not name the lease's role")]
    [InlineData("GRANT SELECT ON {{table}} TO {{role}}", "placeholder other than {{role}}")]
    [InlineData("GRANT SELECT ON t TO {{role}} {{", "placeholder other than {{role}}")]
    [InlineData("GRANT SELECT ON t TO {{role}}; DROP TABLE t", "more than one statement")]
    [InlineData("GRANT SELECT ON t TO {{role}}; GRANT INSERT ON t TO {{role}};", "more than one statement")]
    [InlineData("GRANT SELECT ON t TO {{role}}\0", "control characters")]
    [InlineData("GRANT SELECT ON t\u001b TO {{role}}", "control characters")]
    public void Anything_else_is_refused_saying_why(string grant, string problem) =>
        Assert.Contains(problem, LeaseGrants.Check(grant), StringComparison.Ordinal);

    [Fact]
    public void A_grant_longer_than_4096_characters_is_refused() =>
        Assert.NotNull(LeaseGrants.Check("GRANT SELECT ON t TO {{role}} " + new string(' ', 4096)));
}
