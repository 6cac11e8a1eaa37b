using System.Data.Common;
using Npgsql;
using Tessera.Core.Leases;
using Tessera.Core.Tools;

namespace Tessera.Credentials.Postgres;

/// <summary>
/// The connection string of a tool's admin role, from its vault secret: an Npgsql keyword string
/// (<c>Host=...;Username=...;Password=...</c>) or a URL <c>postgres[ql]://user:password@host[:port]/database[?key=value&amp;...]</c>
/// (query keys are Npgsql keywords), as <c>storage:</c> takes one. What the secret leaves out of
/// host, port and database comes from the tool's <c>connection</c>. Failures never repeat the
/// secret: it holds a password.
/// </summary>
internal static class AdminConnection
{
    /// <summary>How long opening an admin connection may take: a lease request waits on it.</summary>
    public const int ConnectTimeoutSeconds = 5;

    /// <summary>The admin connection string for <paramref name="tool"/>; throws <see cref="CredentialProviderException"/> (<see cref="CredentialFailure.AdminRejected"/>) when the secret is unusable.</summary>
    public static string For(string secret, Tool tool)
    {
        if (tool.Options.Connection is not { } connection)
        {
            throw Rejected($"tool '{tool.Id}' has no connection");
        }

        NpgsqlConnectionStringBuilder builder;
        bool hasPort;
        try
        {
            if (secret.StartsWith("postgres://", StringComparison.Ordinal) || secret.StartsWith("postgresql://", StringComparison.Ordinal))
            {
                builder = FromUrl(secret, out hasPort);
            }
            else
            {
                builder = new NpgsqlConnectionStringBuilder(secret);

                // The builder answers 5432 for a port never written; only the written keys tell.
                hasPort = new DbConnectionStringBuilder { ConnectionString = builder.ConnectionString }.ContainsKey("Port");
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException or OverflowException or KeyNotFoundException)
        {
            throw Rejected($"the admin secret of tool '{tool.Id}' is not a PostgreSQL connection string or URL");
        }

        if (string.IsNullOrEmpty(builder.Host))
        {
            builder.Host = connection.Host;
        }

        if (!hasPort)
        {
            builder.Port = connection.Port;
        }

        if (string.IsNullOrEmpty(builder.Database))
        {
            builder.Database = connection.Database;
        }
        else if (!string.Equals(builder.Database, connection.Database, StringComparison.Ordinal))
        {
            // Grants and ownership are per database: made elsewhere, they would not be what the agent connects to.
            throw Rejected($"the admin secret of tool '{tool.Id}' names database '{builder.Database}', not the tool's database '{connection.Database}'; " +
                "the grants would land in the wrong database");
        }

        builder.Pooling = true;
        builder.Timeout = ConnectTimeoutSeconds;

        // Tessera's admin sessions change no session state, so there is nothing to reset when one returns to the pool.
        builder.NoResetOnClose = true;

        // A grant that fails is named by the failing batch command (an exception of issuing never leaves the provider: its CREATE ROLE command holds the verifier).
        builder.IncludeFailedBatchedCommand = true;
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "tessera";
        }

        return builder.ConnectionString;
    }

    private static NpgsqlConnectionStringBuilder FromUrl(string secret, out bool hasPort)
    {
        if (!Uri.TryCreate(secret, UriKind.Absolute, out var uri))
        {
            throw new ArgumentException("not a URL");
        }

        var builder = new NpgsqlConnectionStringBuilder();
        if (uri.Host.Length > 0)
        {
            builder.Host = uri.Host;
        }

        hasPort = !uri.IsDefaultPort && uri.Port > 0;
        if (hasPort)
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

    private static CredentialProviderException Rejected(string message) => new(CredentialFailure.AdminRejected, message);
}
