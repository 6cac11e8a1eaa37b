using Npgsql;

namespace Tessera.Storage.Postgres.Tests;

public sealed class PostgresLocationTests
{
    [Fact]
    public void A_url_becomes_the_connection_string_it_names()
    {
        var built = new NpgsqlConnectionStringBuilder(PostgresLocation.ToConnectionString("postgres://tessera@db.internal:5433/tessera?sslmode=require", null));

        Assert.Equal(("db.internal", 5433, "tessera", "tessera", SslMode.Require), (built.Host, built.Port, built.Username, built.Database, built.SslMode));
        Assert.Null(built.Password);
    }

    [Fact]
    public void A_password_missing_from_the_location_comes_from_the_environment_and_one_in_it_is_kept()
    {
        Assert.Equal("from-env", new NpgsqlConnectionStringBuilder(PostgresLocation.ToConnectionString("postgres://tessera@db.internal/tessera", "from-env")).Password);
        Assert.Equal("from-env", new NpgsqlConnectionStringBuilder(PostgresLocation.ToConnectionString("Host=db.internal;Username=tessera", "from-env")).Password);
        Assert.Equal("p@ss:word", new NpgsqlConnectionStringBuilder(PostgresLocation.ToConnectionString("postgresql://tessera:p%40ss%3Aword@db.internal/tessera", "from-env")).Password);
    }

    [Theory]
    [InlineData("postgres://tessera:hunter2@/tessera")]
    [InlineData("Host=;Password=hunter2")]
    [InlineData("Password=hunter2;Nonsense=1")]
    public void A_location_that_is_not_usable_is_refused_without_repeating_it(string location)
    {
        var ex = Assert.Throws<ArgumentException>(() => PostgresLocation.ToConnectionString(location, null));

        Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);
    }
}
