using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Tessera.Core.Leases;

namespace Tessera.Credentials.Postgres.Tests;

[Trait("Speed", "Slow")] // a real PostgreSQL cluster
[Collection(WarehouseCollection.Name)]
public sealed class PostgresCredentialProviderTests(Warehouse warehouse) : IAsyncDisposable
{
    private readonly PostgresCredentialProvider _provider = new(TimeProvider.System, NullLogger<PostgresCredentialProvider>.Instance);
    private readonly DateTimeOffset _expiry = TimeProvider.System.GetUtcNow().AddMinutes(15);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    [Fact]
    public async Task A_read_lease_can_log_in_and_select_and_cannot_insert()
    {
        var credential = await _provider.IssueAsync(warehouse.Request(_expiry, ["read"]), Ct);

        Assert.Equal(("127.0.0.1", warehouse.Port, "warehouse"), (credential.Host, credential.Port, credential.Database));
        await using var session = Warehouse.Connect(credential);
        await session.OpenAsync(Ct);
        Assert.Equal("first", await Scalar<string>(session, "SELECT item FROM reporting.orders WHERE id = 1"));
        var refused = await Assert.ThrowsAsync<PostgresException>(() => Scalar<int>(session, "INSERT INTO reporting.orders VALUES (100, 'no') RETURNING id"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
    }

    [Fact]
    public async Task A_read_and_write_lease_can_insert()
    {
        var credential = await _provider.IssueAsync(warehouse.Request(_expiry, ["read", "write"]), Ct);

        await using var session = Warehouse.Connect(credential);
        await session.OpenAsync(Ct);
        Assert.Equal(200, await Scalar<int>(session, "INSERT INTO reporting.orders VALUES (200, 'written') RETURNING id"));
    }

    [Fact]
    public async Task The_password_is_stored_only_as_its_scram_verifier_and_logs_in_while_a_wrong_one_does_not()
    {
        var credential = await _provider.IssueAsync(warehouse.Request(_expiry, ["read"]), Ct);

        var stored = await warehouse.ScalarAsync<string>("SELECT rolpassword FROM pg_authid WHERE rolname = $1", credential.Username);
        Assert.StartsWith("SCRAM-SHA-256$4096:", stored, StringComparison.Ordinal);
        Assert.DoesNotContain(credential.Password, stored!, StringComparison.Ordinal);
        Assert.Equal(43, credential.Password.Length); // 32 random bytes, base64url without padding
        await using (var session = Warehouse.Connect(credential))
        {
            await session.OpenAsync(Ct);
            Assert.Equal(credential.Username, await Scalar<string>(session, "SELECT current_user"));
        }

        await using var wrong = Warehouse.Connect(credential, credential.Password[..^1] + (credential.Password[^1] == 'A' ? 'B' : 'A'));
        var refused = await Assert.ThrowsAsync<PostgresException>(() => wrong.OpenAsync(Ct));
        Assert.Equal(PostgresErrorCodes.InvalidPassword, refused.SqlState);
    }

    [Fact]
    public async Task The_password_never_reaches_the_server_so_its_statement_log_holds_only_the_verifier()
    {
        var credential = await _provider.IssueAsync(warehouse.Request(_expiry, ["read"]), Ct);

        var log = await ReadSharedAsync(warehouse.ServerLog);
        var statement = log.Split('\n').Single(l => l.Contains($"CREATE ROLE \"{credential.Username}\"", StringComparison.Ordinal));
        Assert.Contains("PASSWORD 'SCRAM-SHA-256$4096:", statement, StringComparison.Ordinal);
        Assert.DoesNotContain(credential.Password, log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_role_is_valid_until_the_requested_expiry_and_can_do_nothing_an_admin_can()
    {
        var credential = await _provider.IssueAsync(warehouse.Request(_expiry, ["read"]), Ct);

        Assert.Equal(Microseconds(_expiry), await warehouse.ScalarAsync<DateTime>("SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1", credential.Username));
        Assert.Equal("f f f f f t t", await warehouse.ScalarAsync<string>(
            "SELECT concat_ws(' ', rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolinherit, rolcanlogin) FROM pg_roles WHERE rolname = $1",
            credential.Username));
    }

    [Fact]
    public async Task Many_leases_of_the_same_scope_issued_at_once_and_ended_at_once_all_succeed()
    {
        // Their grants and revokes all rewrite the same schema's and table's privileges, which PostgreSQL does without a lock.
        var requests = Enumerable.Range(0, 24).Select(_ => warehouse.Request(_expiry, ["read"])).ToList();

        var issued = await Task.WhenAll(requests.Select(r => Task.Run(() => _provider.IssueAsync(r, Ct), Ct)));
        await Task.WhenAll(requests.Select(r => Task.Run(() => _provider.RevokeAsync(r, Ct), Ct)));

        Assert.Equal(requests.Select(r => r.Username), issued.Select(c => c.Username));
        Assert.Equal(0L, await warehouse.ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname = ANY($1)", (object)requests.Select(r => r.Username).ToArray()));
    }

    [Fact]
    public async Task Renewing_moves_valid_until()
    {
        var request = warehouse.Request(_expiry, ["read"]);
        await _provider.IssueAsync(request, Ct);

        var later = _expiry.AddMinutes(10);
        await _provider.RenewAsync(request with { ExpiresAt = later }, Ct);

        Assert.Equal(Microseconds(later), await warehouse.ScalarAsync<DateTime>("SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1", request.Username));
    }

    [Fact]
    public async Task Renewing_a_role_that_no_longer_exists_is_refused()
    {
        var request = warehouse.Request(_expiry, ["read"]);

        var ex = await Assert.ThrowsAsync<CredentialProviderException>(() => _provider.RenewAsync(request, Ct));

        Assert.Equal(CredentialFailure.Refused, ex.Failure);
        Assert.Contains("no longer exists", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoking_ends_an_open_session_of_the_role_before_returning_and_drops_the_role()
    {
        var request = warehouse.Request(_expiry, ["read"]);
        var credential = await _provider.IssueAsync(request, Ct);
        await using var session = Warehouse.Connect(credential);
        await session.OpenAsync(Ct);

        // Temporary tables make the session slow to end: it drops them on its way out, still listed by the server.
        Assert.Equal(1, await Scalar<int>(session,
            "DO $$ BEGIN FOR i IN 1..1000 LOOP EXECUTE format('CREATE TEMP TABLE t%s (id int)', i); END LOOP; END $$; SELECT 1"));
        var oid = await warehouse.ScalarAsync<long>("SELECT oid::int8 FROM pg_roles WHERE rolname = $1", credential.Username);

        await _provider.RevokeAsync(request, Ct);

        // Gone when revoking returns, not some time later: the server lists no session of the role.
        Assert.Equal(0L, await warehouse.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE usesysid::int8 = $1", oid));
        Assert.Equal(0L, await warehouse.ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname = $1", credential.Username));
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => Scalar<int>(session, "SELECT 1"));
        await using var again = Warehouse.Connect(credential);
        await Assert.ThrowsAsync<PostgresException>(() => again.OpenAsync(Ct));
    }

    [Fact]
    public async Task Sessions_that_do_not_end_in_time_fail_the_attempt_leaving_the_role_unable_to_log_in_and_the_next_attempt_drops_it()
    {
        var request = warehouse.Request(_expiry, ["read"]);
        var credential = await _provider.IssueAsync(request, Ct);
        await using var session = Warehouse.Connect(credential);
        await session.OpenAsync(Ct);
        await Scalar<int>(session, "DO $$ BEGIN FOR i IN 1..1000 LOOP EXECUTE format('CREATE TEMP TABLE t%s (id int)', i); END LOOP; END $$; SELECT 1");

        // The session takes a while to end (it drops its temporary tables), and this clock has passed the bound by the first look.
        await using var impatient = new PostgresCredentialProvider(new LeapingClock(PostgresCredentialProvider.SessionsEndWithin), NullLogger<PostgresCredentialProvider>.Instance);
        var ex = await Assert.ThrowsAsync<CredentialProviderException>(() => impatient.RevokeAsync(request, Ct));

        Assert.Equal(CredentialFailure.Unavailable, ex.Failure);
        Assert.Contains("did not end within 5 s", ex.Message, StringComparison.Ordinal);
        Assert.False(await warehouse.ScalarAsync<bool>("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", credential.Username));
        await _provider.RevokeAsync(request, Ct);
        Assert.Equal(0L, await warehouse.ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname = $1", credential.Username));
    }

    [Fact]
    public async Task Revoking_twice_or_revoking_a_role_never_created_succeeds()
    {
        var request = warehouse.Request(_expiry, ["read"]);
        await _provider.IssueAsync(request, Ct);

        await _provider.RevokeAsync(request, Ct);
        await _provider.RevokeAsync(request, Ct);
        await _provider.RevokeAsync(warehouse.Request(_expiry, ["read"]), Ct);

        Assert.Equal(0L, await warehouse.ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname = $1", request.Username));
    }

    [Fact]
    public async Task A_role_that_owns_what_it_made_and_holds_it_locked_is_still_dropped_and_what_it_made_passes_to_the_admin()
    {
        var request = warehouse.Request(_expiry, ["read", "create"]);
        var credential = await _provider.IssueAsync(request, Ct);
        var table = "scratch_" + request.LeaseId[3..];
        await using var session = Warehouse.Connect(credential);
        await session.OpenAsync(Ct);
        await Scalar<int>(session, $"CREATE TABLE reporting.{table} (id int); SELECT 1");

        // Its session is inside a transaction holding the table: ending it must not wait on that lock.
        await using var transaction = await session.BeginTransactionAsync(Ct);
        await Scalar<int>(session, $"LOCK reporting.{table} IN ACCESS EXCLUSIVE MODE; SELECT 1");

        await _provider.RevokeAsync(request, Ct);

        Assert.Equal(0L, await warehouse.ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname = $1", credential.Username));
        Assert.Equal(Warehouse.Admin, await warehouse.ScalarAsync<string>("SELECT tableowner::text FROM pg_tables WHERE tablename = $1", table));
    }

    [Fact]
    public async Task A_grant_naming_a_missing_table_is_refused_naming_the_grant_and_leaves_no_role()
    {
        var request = warehouse.Request(_expiry, ["broken"]);

        var ex = await Assert.ThrowsAsync<CredentialProviderException>(() => _provider.IssueAsync(request, Ct));

        Assert.Equal(CredentialFailure.Refused, ex.Failure);
        Assert.False(ex.MayExist);
        Assert.Contains("grant 2 of 2 ('GRANT SELECT ON reporting.missing TO {{role}};')", ex.Message, StringComparison.Ordinal);
        Assert.Contains(PostgresErrorCodes.UndefinedTable, ex.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await warehouse.ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname = $1", request.Username));
    }

    [Fact]
    public async Task A_grant_on_a_table_the_admin_may_not_touch_is_refused_not_blamed_on_the_admin_login()
    {
        var request = warehouse.Request(_expiry, ["read", "not-the-admins"]);

        var ex = await Assert.ThrowsAsync<CredentialProviderException>(() => _provider.IssueAsync(request, Ct));

        Assert.Equal((CredentialFailure.Refused, false), (ex.Failure, ex.MayExist));
        Assert.Contains("grant 3 of 3 ('GRANT SELECT ON restricted.payroll TO {{role}}')", ex.Message, StringComparison.Ordinal);
        Assert.Contains(PostgresErrorCodes.InsufficientPrivilege, ex.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await warehouse.ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname = $1", request.Username));
    }

    [Fact]
    public async Task A_grant_that_grants_nothing_because_the_admin_lacks_the_grant_option_is_refused_and_leaves_no_role()
    {
        // PostgreSQL only warns ("no privileges were granted") when the admin holds the privilege without its grant option.
        var request = warehouse.Request(_expiry, ["no-grant-option"]);

        var ex = await Assert.ThrowsAsync<CredentialProviderException>(() => _provider.IssueAsync(request, Ct));

        Assert.Equal((CredentialFailure.Refused, false), (ex.Failure, ex.MayExist));
        Assert.Contains("no privileges were granted for \"ledger\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("SQL state 01007", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await warehouse.ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname = $1", request.Username));
    }

    [Fact]
    public async Task A_wrong_admin_password_is_rejected_without_repeating_it()
    {
        var secret = warehouse.AdminSecret.Replace(Warehouse.AdminPassword, "not-the-Adm1n-password", StringComparison.Ordinal);

        var ex = await Assert.ThrowsAsync<CredentialProviderException>(() => _provider.IssueAsync(warehouse.Request(_expiry, ["read"], secret), Ct));

        Assert.Equal(CredentialFailure.AdminRejected, ex.Failure);
        Assert.False(ex.MayExist);
        Assert.Contains(PostgresErrorCodes.InvalidPassword, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-Adm1n-password", ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Warehouse.AdminPassword, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_admin_secret_naming_another_database_is_rejected()
    {
        var secret = warehouse.AdminSecret.Replace("Database=warehouse", "Database=postgres", StringComparison.Ordinal);
        var request = warehouse.Request(_expiry, ["read"], secret);

        var ex = await Assert.ThrowsAsync<CredentialProviderException>(() => _provider.IssueAsync(request, Ct));

        Assert.Equal(CredentialFailure.AdminRejected, ex.Failure);
        Assert.Contains("names database 'postgres', not the tool's database 'warehouse'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Warehouse.AdminPassword, ex.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await warehouse.ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname = $1", request.Username));
    }

    [Fact]
    public async Task An_admin_url_without_host_port_or_database_takes_them_from_the_tool()
    {
        var credential = await _provider.IssueAsync(warehouse.Request(_expiry, ["read"], $"postgresql://{Warehouse.Admin}:{Uri.EscapeDataString(Warehouse.AdminPassword)}@127.0.0.1"), Ct);

        await using var session = Warehouse.Connect(credential);
        await session.OpenAsync(Ct);
        Assert.Equal("first", await Scalar<string>(session, "SELECT item FROM reporting.orders WHERE id = 1"));
    }

    [Fact]
    public async Task An_unreachable_database_is_unavailable_and_nothing_can_exist()
    {
        var closed = ClosedPort();
        var tool = warehouse.Tool(closed);
        var secret = $"Username={Warehouse.Admin};Password={Warehouse.AdminPassword}";

        var issue = await Assert.ThrowsAsync<CredentialProviderException>(() => _provider.IssueAsync(warehouse.Request(_expiry, ["read"], secret, tool), Ct));
        var revoke = await Assert.ThrowsAsync<CredentialProviderException>(() => _provider.RevokeAsync(warehouse.Request(_expiry, ["read"], secret, tool), Ct));

        Assert.Equal((CredentialFailure.Unavailable, false), (issue.Failure, issue.MayExist));
        Assert.Contains($"127.0.0.1:{closed}", issue.Message, StringComparison.Ordinal);
        Assert.Equal(CredentialFailure.Unavailable, revoke.Failure);
        Assert.DoesNotContain(Warehouse.AdminPassword, issue.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_admin_secret_that_is_no_connection_string_is_rejected_without_repeating_it()
    {
        var ex = await Assert.ThrowsAsync<CredentialProviderException>(() =>
            _provider.IssueAsync(warehouse.Request(_expiry, ["read"], "Nonsense=1;Password=hunter2-secret"), Ct));

        Assert.Equal(CredentialFailure.AdminRejected, ex.Failure);
        Assert.Equal("the admin secret of tool 'warehouse' is not a PostgreSQL connection string or URL", ex.Message);
        Assert.DoesNotContain("hunter2", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_admin_without_createrole_is_rejected_when_issuing_and_when_ending()
    {
        var issued = warehouse.Request(_expiry, ["read"]);
        await _provider.IssueAsync(issued, Ct);

        var issue = await Assert.ThrowsAsync<CredentialProviderException>(() => _provider.IssueAsync(warehouse.Request(_expiry, ["read"], warehouse.WeakAdminSecret), Ct));
        var revoke = await Assert.ThrowsAsync<CredentialProviderException>(() => _provider.RevokeAsync(issued with { AdminSecret = warehouse.WeakAdminSecret }, Ct));

        Assert.Equal((CredentialFailure.AdminRejected, false), (issue.Failure, issue.MayExist));
        Assert.Contains(PostgresErrorCodes.InsufficientPrivilege, issue.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("SCRAM", issue.ToString(), StringComparison.Ordinal);
        Assert.Equal(CredentialFailure.AdminRejected, revoke.Failure);
        Assert.Equal(1L, await warehouse.ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname = $1", issued.Username));
        await _provider.RevokeAsync(issued, Ct);
    }

    [Fact]
    public async Task A_session_cut_while_issuing_is_unavailable_and_the_role_may_exist()
    {
        var request = warehouse.Request(_expiry, ["blocking"]);
        await using var holder = new NpgsqlConnection(warehouse.Superuser);
        await holder.OpenAsync(Ct);
        await using var transaction = await holder.BeginTransactionAsync(Ct);
        await Scalar<int>(holder, "LOCK reporting.orders IN ACCESS SHARE MODE; SELECT 1");

        var issuing = _provider.IssueAsync(request, Ct);

        // The admin's session waits for the lock: cut it there, before its answer.
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        patience.CancelAfter(TimeSpan.FromSeconds(30));
        while (await warehouse.ScalarAsync<int>(
            "SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'", Warehouse.Admin) == 0)
        {
            patience.Token.ThrowIfCancellationRequested();
            await Task.Yield();
        }

        var ex = await Assert.ThrowsAsync<CredentialProviderException>(() => issuing);
        await transaction.RollbackAsync(Ct);

        Assert.Equal((CredentialFailure.Unavailable, true), (ex.Failure, ex.MayExist));
        Assert.DoesNotContain("SCRAM", ex.ToString(), StringComparison.Ordinal);
        await _provider.RevokeAsync(request, Ct);
        Assert.Equal(0L, await warehouse.ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname = $1", request.Username));
    }

    [Fact]
    public void The_expiry_is_written_in_utc_to_the_microsecond()
    {
        var at = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)).AddTicks(1_234_567);

        Assert.Equal("2030-01-02T01:04:05.123456Z", PostgresCredentialProvider.Timestamp(at));
    }

    /// <summary>Not an assertion: how long issuing and ending take on loopback, for the report.</summary>
    [Fact]
    public async Task Issuing_and_ending_a_lease_take_a_few_milliseconds()
    {
        const int rounds = 40;
        var issue = new List<double>();
        var end = new List<double>();
        var endWithSession = new List<double>();
        await _provider.RevokeAsync(warehouse.Request(_expiry, ["read"]), Ct); // warm the pool
        for (var i = 0; i < rounds; i++)
        {
            var request = warehouse.Request(_expiry, ["read", "write"]);
            var watch = Stopwatch.StartNew();
            var credential = await _provider.IssueAsync(request, Ct);
            issue.Add(watch.Elapsed.TotalMilliseconds);
            await using var session = i % 2 == 0 ? null : Warehouse.Connect(credential);
            if (session is not null)
            {
                await session.OpenAsync(Ct);
            }

            watch.Restart();
            await _provider.RevokeAsync(request, Ct);
            (session is null ? end : endWithSession).Add(watch.Elapsed.TotalMilliseconds);
        }

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"issue p50 {Median(issue):0.0} ms; end p50 {Median(end):0.0} ms; end with an open session p50 {Median(endWithSession):0.0} ms ({rounds} leases, two grants each)");
        Assert.Equal(rounds, issue.Count);
    }

    /// <summary>The server's log as it stands, read while the server keeps writing it.</summary>
    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync(Ct);
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static DateTime Microseconds(DateTimeOffset at) => new(at.UtcTicks / 10 * 10, DateTimeKind.Utc);

    private static async Task<T> Scalar<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(Ct))!;
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
