using Npgsql;

namespace Tessera.Storage.Postgres;

/// <summary>
/// Turns the configured <c>storage</c> value into an Npgsql connection string: a URL
/// <c>postgres://user[:password]@host[:port]/database[?key=value&amp;...]</c> (query keys are Npgsql
/// keywords, for example <c>sslmode=require</c>), or an Npgsql keyword string as it is. A password
/// missing from both is taken from the password argument (the environment), so it need not be
/// written in the configuration file. Error messages never repeat the value: it may hold a password.
/// </summary>
public static class PostgresLocation
{
    public static string ToConnectionString(string location, string? password)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = location.StartsWith("postgres://", StringComparison.Ordinal) || location.StartsWith("postgresql://", StringComparison.Ordinal)
                ? FromUrl(location)
                : new NpgsqlConnectionStringBuilder(location);
        }
        catch (ArgumentException)
        {
            throw new ArgumentException("the PostgreSQL storage location is neither a postgres:// URL nor an Npgsql connection string", nameof(location));
        }

        if (string.IsNullOrEmpty(builder.Host))
        {
            throw new ArgumentException("the PostgreSQL storage location names no host", nameof(location));
        }

        if (string.IsNullOrEmpty(builder.Password) && !string.IsNullOrEmpty(password))
        {
            builder.Password = password;
        }

        return builder.ConnectionString;
    }

    private static NpgsqlConnectionStringBuilder FromUrl(string location)
    {
        if (!Uri.TryCreate(location, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException("not a URL");
        }

        var builder = new NpgsqlConnectionStringBuilder { Host = uri.Host };
        if (!uri.IsDefaultPort && uri.Port > 0)
        {
            builder.Port = uri.Port;
        }

        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException("a URL parameter is not key=value");
            }

            builder[Uri.UnescapeDataString(pair[..eq])] = Uri.UnescapeDataString(pair[(eq + 1)..]);
        }

        return builder;
    }
}
