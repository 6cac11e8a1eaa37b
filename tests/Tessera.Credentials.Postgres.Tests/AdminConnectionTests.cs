using Npgsql;
using Tessera.Core.Configuration;
using Tessera.Core.Leases;
using Tessera.Core.Tools;

namespace Tessera.Credentials.Postgres.Tests;

public sealed class AdminConnectionTests
{
    private static readonly Tool Warehouse = new(new ToolOptions
    {
        Id = "warehouse",
        Audience = "https://warehouse.example",
        Protocol = ToolProtocol.Postgres,
        Connection = new DatabaseConnectionOptions("db.internal", 5433, "warehouse"),
        AdminSecret = "warehouse-admin",
        Scopes = new Dictionary<string, ToolScopeOptions>(),
    });

    [Fact]
    public void A_connection_string_without_host_port_or_database_takes_them_from_the_tool()
    {
        var built = new NpgsqlConnectionStringBuilder(AdminConnection.For("Username=tessera_admin;Password=s3cret", Warehouse));

        Assert.Equal(("db.internal", 5433, "warehouse", "tessera_admin", "s3cret"), (built.Host, built.Port, built.Database, built.Username, built.Password));
        Assert.Equal((true, 5, true), (built.Pooling, built.Timeout, built.NoResetOnClose));
    }

    [Fact]
    public void What_the_connection_string_says_wins_over_the_tool_including_the_default_port_written_out()
    {
        var built = new NpgsqlConnectionStringBuilder(AdminConnection.For("Host=admin.internal;Port=5432;Database=warehouse;Username=a;Password=p", Warehouse));

        Assert.Equal(("admin.internal", 5432, "warehouse"), (built.Host, built.Port, built.Database));
    }

    [Fact]
    public void A_url_becomes_the_connection_it_names_with_escaped_credentials_and_keyword_parameters()
    {
        var built = new NpgsqlConnectionStringBuilder(AdminConnection.For("postgres://tessera_admin:p%40ss%3Aword@admin.internal:6000/warehouse?sslmode=require", Warehouse));

        Assert.Equal(("admin.internal", 6000, "warehouse", "tessera_admin", "p@ss:word", SslMode.Require),
            (built.Host, built.Port, built.Database, built.Username, built.Password, built.SslMode));
    }

    [Fact]
    public void A_url_without_port_or_database_takes_them_from_the_tool()
    {
        var built = new NpgsqlConnectionStringBuilder(AdminConnection.For("postgresql://tessera_admin:pw@admin.internal", Warehouse));

        Assert.Equal(("admin.internal", 5433, "warehouse"), (built.Host, built.Port, built.Database));
    }

    [Theory]
    [InlineData("Host=db.internal;Database=postgres;Username=a;Password=hunter2")]
    [InlineData("postgres://a:hunter2@db.internal/postgres")]
    public void A_secret_naming_another_database_is_rejected(string secret)
    {
        var ex = Assert.Throws<CredentialProviderException>(() => AdminConnection.For(secret, Warehouse));

        Assert.Equal(CredentialFailure.AdminRejected, ex.Failure);
        Assert.Contains("the grants would land in the wrong database", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Password=hunter2;Nonsense=1")]
    [InlineData("Password=hunter2;Port=not-a-number")]
    [InlineData("postgres://a:hunter2@db.internal/warehouse?sslmode")]
    [InlineData("postgres://a:hunter2@db.internal/warehouse?nonsense=1")]
    [InlineData("postgres://a:hunter2@[bad/warehouse")]
    [InlineData("hunter2")]
    public void A_secret_that_is_no_connection_string_or_url_is_rejected_without_repeating_it(string secret)
    {
        var ex = Assert.Throws<CredentialProviderException>(() => AdminConnection.For(secret, Warehouse));

        Assert.Equal(CredentialFailure.AdminRejected, ex.Failure);
        Assert.Equal("the admin secret of tool 'warehouse' is not a PostgreSQL connection string or URL", ex.Message);
        Assert.Null(ex.InnerException);
    }
}
