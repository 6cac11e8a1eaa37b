using Npgsql;
using Tessera.Core.Configuration;
using Tessera.Core.Leases;
using Tessera.Core.Tools;
using Tessera.Storage.Postgres.Tests;

namespace Tessera.Credentials.Postgres.Tests;

/// <summary>
/// A throwaway PostgreSQL cluster set up as an operator would for a <c>protocol: postgres</c> tool:
/// a database <c>warehouse</c> with a schema <c>reporting</c> and a table <c>orders</c>, owned by a
/// non-superuser admin role <c>tessera_admin</c> (<c>LOGIN CREATEROLE</c> and nothing else), and
/// password (SCRAM) authentication for every TCP login except the cluster's own superuser, so a
/// lease's password is really checked.
/// </summary>
public sealed class Warehouse : IAsyncLifetime
{
    public const string Database = "warehouse";
    public const string Admin = "tessera_admin";
    public const string AdminPassword = "adm1n-Pa55word-for-the-tests";

    /// <summary>A role that may log in but lacks <c>CREATEROLE</c>: an admin secret naming it is a misconfiguration.</summary>
    public const string WeakAdmin = "tessera_weak";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly PostgresCluster _cluster = new();

    public int Port => _cluster.Port;

    /// <summary>The admin secret as an operator stores it in the vault.</summary>
    public string AdminSecret => $"Host=127.0.0.1;Port={Port};Username={Admin};Password={AdminPassword};Database={Database}";

    /// <summary>The admin secret of <see cref="WeakAdmin"/>.</summary>
    public string WeakAdminSecret => AdminSecret.Replace($"Username={Admin};", $"Username={WeakAdmin};", StringComparison.Ordinal);

    /// <summary>The cluster's superuser in the warehouse database (trusted, no pool): what the tests inspect and arrange with.</summary>
    public string Superuser => new NpgsqlConnectionStringBuilder(_cluster.AdminConnectionString) { Database = Database }.ConnectionString;

    /// <summary>The server's log (pg_ctl's <c>-l</c> file, next to the data directory).</summary>
    public string ServerLog { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        await _cluster.InitializeAsync();
        await ExecuteAsync(_cluster.AdminConnectionString,
            $"CREATE DATABASE {Database} TEMPLATE template0",
            $"CREATE ROLE {Admin} LOGIN CREATEROLE PASSWORD '{AdminPassword}'",
            $"CREATE ROLE {WeakAdmin} LOGIN PASSWORD '{AdminPassword}'",

            // As an operator auditing DDL would: every statement of the admin is in the server's log.
            $"ALTER ROLE {Admin} SET log_statement = 'ddl'");
        await ExecuteAsync(Superuser,
            $"CREATE SCHEMA reporting AUTHORIZATION {Admin}",
            "CREATE TABLE reporting.orders (id int PRIMARY KEY, item text NOT NULL)",
            $"ALTER TABLE reporting.orders OWNER TO {Admin}",
            "INSERT INTO reporting.orders VALUES (1, 'first')",

            // A schema the admin does not own, with a table it may read but not pass on and one it may not touch.
            "CREATE SCHEMA restricted",
            $"GRANT USAGE ON SCHEMA restricted TO {Admin}",
            "CREATE TABLE restricted.ledger (id int)",
            $"GRANT SELECT ON restricted.ledger TO {Admin}",
            "CREATE TABLE restricted.payroll (id int)");
        ServerLog = Path.Combine(Path.GetDirectoryName((await ScalarAsync<string>("SHOW data_directory"))!)!, "server.log");
        await RequirePasswordsAsync();
    }

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    /// <summary>The warehouse tool, with a test-only scope <c>create</c> that lets a lease own a table.</summary>
    public Tool Tool(int? port = null) => new(new ToolOptions
    {
        Id = "warehouse",
        Audience = "https://warehouse.example",
        Protocol = ToolProtocol.Postgres,
        Connection = new DatabaseConnectionOptions("127.0.0.1", port ?? Port, Database),
        AdminSecret = "warehouse-admin",
        Scopes = new Dictionary<string, ToolScopeOptions>
        {
            ["read"] = new([], null, ["GRANT USAGE ON SCHEMA reporting TO {{role}}", "GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO {{role}}"]),
            ["write"] = new([], null, ["GRANT INSERT ON reporting.orders TO {{role}}"]),
            ["create"] = new([], null, ["GRANT USAGE, CREATE ON SCHEMA reporting TO {{role}}"]),
            ["broken"] = new([], null, ["GRANT USAGE ON SCHEMA reporting TO {{role}}", "GRANT SELECT ON reporting.missing TO {{role}};"]),

            ["no-grant-option"] = new([], null, ["GRANT USAGE ON SCHEMA reporting TO {{role}}", "GRANT SELECT ON restricted.ledger TO {{role}}"]),
            ["not-the-admins"] = new([], null, ["GRANT SELECT ON restricted.payroll TO {{role}}"]),

            // Not a grant, but a statement that waits for the table's lock: lets a test cut the admin's session mid-issue.
            ["blocking"] = new([], null, ["ALTER TABLE reporting.orders OWNER TO {{role}}"]),
        },
    });

    /// <summary>A request for a new lease holding <paramref name="scopes"/>' grants until <paramref name="expiresAt"/>.</summary>
    public CredentialRequest Request(DateTimeOffset expiresAt, string[] scopes, string? adminSecret = null, Tool? tool = null)
    {
        tool ??= Tool();
        var id = LeaseNames.NewId();
        var grants = scopes.SelectMany(s => tool.Options.Scopes[s].Grants).ToList();
        return new CredentialRequest(id, tool, LeaseNames.RoleOf(id), grants, expiresAt, adminSecret ?? AdminSecret);
    }

    /// <summary>A connection as the lease's role, with its password, not pooled (so closing it ends its session).</summary>
    public static NpgsqlConnection Connect(IssuedCredential credential, string? password = null) => new(new NpgsqlConnectionStringBuilder
    {
        Host = credential.Host,
        Port = credential.Port,
        Database = credential.Database,
        Username = credential.Username,
        Password = password ?? credential.Password,
        Pooling = false,
    }.ConnectionString);

    /// <summary>One value read as the superuser.</summary>
    public async Task<T?> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(Superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }

        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)value;
    }

    private static async Task ExecuteAsync(string connectionString, params string[] statements)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var sql in statements)
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>
    /// The fixture's cluster trusts every login; here every TCP login but the superuser's must give
    /// its password (SCRAM). The server rereads pg_hba.conf on reload, which is over when a new
    /// session reports a later configuration load time.
    /// </summary>
    private async Task RequirePasswordsAsync()
    {
        var hba = await ScalarAsync<string>("SHOW hba_file");
        var loaded = await ScalarAsync<DateTime>("SELECT pg_conf_load_time()");
        await File.WriteAllTextAsync(hba!,
            "local all all trust\n" +
            "host all tessera 127.0.0.1/32 trust\n" +
            "host all all 127.0.0.1/32 scram-sha-256\n");
        await ScalarAsync<bool>("SELECT pg_reload_conf()");
        using var patience = new CancellationTokenSource(Patience);
        while (await ScalarAsync<DateTime>("SELECT pg_conf_load_time()") <= loaded)
        {
            patience.Token.ThrowIfCancellationRequested();
            await Task.Yield();
        }
    }
}
