using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;
using Tessera.Core.Leases;
using Tessera.Core.Tools;

namespace Tessera.Credentials.Postgres;

/// <summary>
/// Makes a PostgreSQL login role per lease, holding exactly its scopes' grants until its expiry,
/// and drops it when the lease ends.
/// <para>
/// <b>What the admin role needs</b> (the role of the tool's <c>admin_secret</c>; tested on PostgreSQL 15):
/// </para>
/// <list type="bullet">
/// <item><c>LOGIN CREATEROLE</c>, and not <c>SUPERUSER</c> (it need not be one, and should not be).
/// <c>INHERIT</c> (the default): each lease role is created <c>ROLE CURRENT_USER</c>, which makes
/// the admin a member of it, and through that membership the admin may later
/// <c>REASSIGN OWNED</c> / <c>DROP OWNED</c> what the lease made and end the lease's sessions
/// (PostgreSQL 15 refuses both to a role that is not a member, even with <c>CREATEROLE</c>).</item>
/// <item>For every grant of every scope, the right to make it: ownership of the objects (e.g.
/// <c>CREATE SCHEMA reporting AUTHORIZATION tessera_admin</c> and tables owned by it), or the
/// privileges <c>WITH GRANT OPTION</c>. Without the right, PostgreSQL refuses the grant (SQL state
/// 42501) or, when the admin holds the privilege without its grant option, grants nothing and only
/// warns (01007); either way the lease is refused and no role is left.</item>
/// <item>A password login to the tool's database (<c>CONNECT</c>, which <c>PUBLIC</c> has by
/// default), from where Tessera runs.</item>
/// <item>Nothing else: no <c>pg_signal_backend</c> (membership of the lease role already lets it end
/// that role's sessions), no <c>CREATEDB</c>, no <c>REPLICATION</c>.</item>
/// </list>
/// <para>
/// For example, as a superuser: <c>CREATE ROLE tessera_admin LOGIN CREATEROLE PASSWORD '...'</c>,
/// then in the tool's database <c>CREATE SCHEMA reporting AUTHORIZATION tessera_admin</c> (or
/// <c>ALTER TABLE ... OWNER TO tessera_admin</c>, or <c>GRANT SELECT ... TO tessera_admin WITH GRANT OPTION</c>).
/// </para>
/// <para>
/// <b>What the server needs</b>: the agents' logins must be password logins in <c>pg_hba.conf</c>
/// (<c>scram-sha-256</c>). A role's password and its <c>VALID UNTIL</c> apply to password logins
/// only: a <c>trust</c>, <c>peer</c> or <c>cert</c> line reaching the lease roles would let a login
/// ignore both.
/// </para>
/// <para>
/// The lease's password is sent only as its SCRAM-SHA-256 verifier (<see cref="ScramVerifier"/>), so
/// it appears in no server log. Issuing is one round trip (the role and its grants in one implicit
/// transaction: all or nothing); ending is two when the role has no session (<c>NOLOGIN</c> and the
/// sessions signalled, then the role dropped), plus a short wait for the sessions to end when it has.
/// The transactions that grant or drop privileges wait for each other (<see cref="SerializePrivileges"/>):
/// PostgreSQL fails concurrent changes of one object's privileges.
/// </para>
/// </summary>
public sealed partial class PostgresCredentialProvider(TimeProvider time, ILogger<PostgresCredentialProvider> logger) : ICredentialProvider, IAsyncDisposable
{
    /// <summary>How long ending a lease waits for its role's sessions to end once signalled.</summary>
    internal static readonly TimeSpan SessionsEndWithin = TimeSpan.FromSeconds(5);

    /// <summary>How often that wait asks the server whether they have: a terminated backend usually exits within a millisecond or two.</summary>
    private static readonly TimeSpan SessionPoll = TimeSpan.FromMilliseconds(2);

    /// <summary>The characters of a VALID UNTIL timestamp as <see cref="Timestamp"/> writes it: nothing that can end an SQL string literal.</summary>
    private static readonly SearchValues<char> TimestampAlphabet = SearchValues.Create("0123456789-:.TZ");

    /// <summary>SQL state <c>privilege_not_granted</c>: a warning, not an error.</summary>
    private const string PrivilegeNotGranted = "01007";

    private const string CountSessions = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = $1";

    /// <summary>
    /// PostgreSQL rewrites an object's privileges (a GRANT, or the REVOKE of DROP OWNED) in place
    /// without locking the object: two transactions changing the same schema's or table's privileges at
    /// once fail one of them with "tuple concurrently updated" (XX000). Every transaction of Tessera's
    /// that grants or drops privileges takes this transaction-level advisory lock of the database first,
    /// so leases issued and ended at once (a mission's leases ended together; several nodes) wait for
    /// each other for the millisecond or two such a transaction takes instead of failing.
    /// </summary>
    private const string SerializePrivileges = "SELECT pg_advisory_xact_lock(32762643830108769)"; // "tessera" in ASCII

    // One data source (and so one pool) per admin connection, keyed by the SHA-256 of its connection string so the string itself (a password) is no key.
    private readonly ConcurrentDictionary<string, NpgsqlDataSource> _dataSources = new(StringComparer.Ordinal);
    private int _disposed;

    public ToolProtocol Protocol => ToolProtocol.Postgres;

    public async Task<IssuedCredential> IssueAsync(CredentialRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var target = request.Tool.Options.Connection;
        for (var i = 0; i < request.Grants.Count; i++)
        {
            // Checked when the configuration loads; checked again here because the statement runs as the admin.
            if (LeaseGrants.Check(request.Grants[i]) is { } problem)
            {
                throw new CredentialProviderException(CredentialFailure.Refused, $"grant {i + 1} of tool '{request.Tool.Id}' is not usable: {problem}");
            }
        }

        var password = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var verifier = ScramVerifier.Create(password);
        var role = LeaseGrants.QuoteIdentifier(request.Username);
        await using var connection = await OpenAsync(request, cancellationToken);

        // Utility statements take no bind parameters, so the verifier and the expiry are literals:
        // both are made here from characters that cannot end a string literal, which this asserts.
        var createRole = $"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT " +
            $"PASSWORD '{Literal(verifier, ScramVerifier.Alphabet)}' VALID UNTIL '{Literal(Timestamp(request.ExpiresAt), TimestampAlphabet)}' ROLE CURRENT_USER";

        // One batch without an explicit transaction is one implicit transaction (committed at its Sync):
        // one round trip, and a grant that fails takes the role with it.
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(SerializePrivileges));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(createRole));
        foreach (var grant in request.Grants)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(LeaseGrants.Render(grant, request.Username)));
        }

        // A grant of a privilege the admin holds without its grant option grants nothing, and PostgreSQL
        // only warns: the warning is caught here, and the lease refused as if the grant had failed.
        PostgresNotice? grantedNothing = null;
        NoticeEventHandler onNotice = (_, e) => grantedNothing ??= e.Notice.SqlState == PrivilegeNotGranted ? e.Notice : null;
        connection.Notice += onNotice;

        // The failures below carry no inner exception: its batch command may be the CREATE ROLE statement, and with it the verifier.
        try
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException ex) when (!RetryMaySucceed(ex))
        {
            // The server answered with an error: the implicit transaction rolled back, so no role exists.
            // Commands: the lock, CREATE ROLE, then the grants (grant i at index i + 1).
            var index = ex.BatchCommand is { } failed ? batch.BatchCommands.IndexOf(failed) - 1 : -1;
            Log.IssueFailed(logger, request.LeaseId, request.Username, ex.SqlState);
            if (index <= 0)
            {
                throw new CredentialProviderException(
                    ex.SqlState == PostgresErrorCodes.InsufficientPrivilege ? CredentialFailure.AdminRejected : CredentialFailure.Refused,
                    $"the database of tool '{request.Tool.Id}' refused to create role {request.Username} (SQL state {ex.SqlState}: {Withheld(ex.MessageText, verifier)})");
            }

            throw new CredentialProviderException(CredentialFailure.Refused,
                $"the database of tool '{request.Tool.Id}' refused grant {index} of {request.Grants.Count} ('{request.Grants[index - 1]}') " +
                $"(SQL state {ex.SqlState}: {ex.MessageText}); no role was left behind");
        }
        catch (NpgsqlException ex)
        {
            // The batch (and with it the commit) was sent: the role may exist though its answer was lost.
            Log.IssueFailed(logger, request.LeaseId, request.Username, (ex as PostgresException)?.SqlState ?? "connection");
            throw new CredentialProviderException(CredentialFailure.Unavailable,
                $"the database of tool '{request.Tool.Id}' did not answer the request to create role {request.Username} ({Withheld(Connectivity(ex), verifier)}), so it may exist")
            {
                MayExist = true,
            };
        }
        finally
        {
            connection.Notice -= onNotice;
        }

        if (grantedNothing is not null)
        {
            await UndoAsync(connection, request, role, grantedNothing, cancellationToken);
        }

        Log.Issued(logger, request.LeaseId, request.Username);
        return new IssuedCredential(request.Username, password, target!.Host, target.Port, target.Database);
    }

    /// <summary>
    /// Drops a role just made whose grants did not all take, and refuses the lease. Nobody holds its
    /// password yet, so it has no session and owns nothing. Should the drop fail, the role may remain
    /// and the lease service ends it later.
    /// </summary>
    private async Task UndoAsync(NpgsqlConnection connection, CredentialRequest request, string role, PostgresNotice notice, CancellationToken cancellationToken)
    {
        Log.IssueFailed(logger, request.LeaseId, request.Username, notice.SqlState);
        var why = $"the database of tool '{request.Tool.Id}' granted nothing for a grant of role {request.Username} (SQL state {notice.SqlState}: {notice.MessageText}): " +
            "the admin role holds that privilege without its grant option";
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(SerializePrivileges));
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"DROP OWNED BY {role}"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"DROP ROLE {role}"));
        try
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (NpgsqlException)
        {
            throw new CredentialProviderException(CredentialFailure.Refused, why + "; dropping the role failed, so it may remain") { MayExist = true };
        }

        throw new CredentialProviderException(CredentialFailure.Refused, why + "; the role was dropped");
    }

    public async Task RenewAsync(CredentialRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var connection = await OpenAsync(request, cancellationToken);
        await using var command = new NpgsqlCommand(
            $"ALTER ROLE {LeaseGrants.QuoteIdentifier(request.Username)} VALID UNTIL '{Literal(Timestamp(request.ExpiresAt), TimestampAlphabet)}'", connection);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedObject)
        {
            throw new CredentialProviderException(CredentialFailure.Refused, $"role {request.Username} of tool '{request.Tool.Id}' no longer exists");
        }
        catch (NpgsqlException ex)
        {
            throw Failure(request, "renew", ex);
        }

        Log.Renewed(logger, request.LeaseId, request.Username);
    }

    public async Task RevokeAsync(CredentialRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var role = LeaseGrants.QuoteIdentifier(request.Username);
        await using var connection = await OpenAsync(request, cancellationToken);
        try
        {
            // One round trip: with error barriers each statement is its own transaction, so NOLOGIN is
            // committed (no new session can start) before the sessions already open are signalled.
            // A role that does not exist fails the first statement: it is already ended.
            long signalled;
            await using (var batch = new NpgsqlBatch(connection) { EnableErrorBarriers = true })
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"ALTER ROLE {role} NOLOGIN"));
                batch.BatchCommands.Add(SessionsOf(request.Username));
                try
                {
                    signalled = (long)(await batch.ExecuteScalarAsync(cancellationToken))!;
                }
                catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedObject)
                {
                    Log.AlreadyGone(logger, request.LeaseId, request.Username);
                    return;
                }
            }

            if (signalled > 0)
            {
                await AwaitSessionsEndedAsync(connection, request, cancellationToken);
                Log.SessionsEnded(logger, request.LeaseId, request.Username, signalled);
            }

            // One implicit transaction: a session that logged in just before NOLOGIN's commit but was not
            // yet listed for the signal is signalled now (should it still be ending as its objects are
            // dropped, the server may report an internal error: Unavailable, and the next attempt finishes),
            // then what the role made passes to the admin, its privileges go, and the role.
            await using (var batch = new NpgsqlBatch(connection))
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(SerializePrivileges));
                batch.BatchCommands.Add(SessionsOf(request.Username));
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"REASSIGN OWNED BY {role} TO CURRENT_USER"));
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"DROP OWNED BY {role}"));
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"DROP ROLE {role}"));
                try
                {
                    await batch.ExecuteNonQueryAsync(cancellationToken);
                }
                catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedObject)
                {
                    // Dropped meanwhile by another attempt to end it.
                    Log.AlreadyGone(logger, request.LeaseId, request.Username);
                    return;
                }
            }
        }
        catch (NpgsqlException ex)
        {
            throw Failure(request, "end", ex);
        }

        Log.Revoked(logger, request.LeaseId, request.Username);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var dataSource in _dataSources.Values)
        {
            await dataSource.DisposeAsync();
        }

        _dataSources.Clear();
    }

    /// <summary>
    /// Waits until no session of the role is left: <c>pg_terminate_backend</c> only signals, and a
    /// session is gone when the server stops listing it. Each poll signals again whatever is still
    /// listed. Bounded by <see cref="SessionsEndWithin"/>; past it the role stays, unable to log in,
    /// and the next attempt to end the lease tries again.
    /// </summary>
    private async Task AwaitSessionsEndedAsync(NpgsqlConnection connection, CredentialRequest request, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + SessionsEndWithin;
        await using var command = new NpgsqlCommand(CountSessions, connection) { Parameters = { new() { Value = request.Username } } };
        while (true)
        {
            var left = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
            if (left == 0)
            {
                return;
            }

            if (time.GetUtcNow() >= deadline)
            {
                throw new CredentialProviderException(CredentialFailure.Unavailable,
                    $"{left} session(s) of role {request.Username} of tool '{request.Tool.Id}' did not end within {SessionsEndWithin.TotalSeconds:0} s of being terminated; " +
                    "the role can no longer log in and is dropped on the next attempt");
            }

            await Task.Delay(SessionPoll, time, cancellationToken);
        }
    }

    private static NpgsqlBatchCommand SessionsOf(string username) => new(CountSessions) { Parameters = { new() { Value = username } } };

    /// <summary>An open admin connection for the request's tool; failing to open one never made anything (<see cref="CredentialProviderException.MayExist"/> false).</summary>
    private async Task<NpgsqlConnection> OpenAsync(CredentialRequest request, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var dataSource = DataSourceFor(request);
        try
        {
            return await dataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (PostgresException ex) when (!RetryMaySucceed(ex))
        {
            Log.AdminRejected(logger, request.LeaseId, ex.SqlState);
            throw new CredentialProviderException(CredentialFailure.AdminRejected,
                $"the database of tool '{request.Tool.Id}' refused Tessera's admin login (SQL state {ex.SqlState}: {ex.MessageText})", ex);
        }
        catch (NpgsqlException ex) when (ex is PostgresException || ex.IsTransient)
        {
            var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
            Log.Unreachable(logger, request.LeaseId, Connectivity(ex));
            throw new CredentialProviderException(CredentialFailure.Unavailable,
                $"the database of tool '{request.Tool.Id}' at {settings.Host}:{settings.Port} could not be reached ({Connectivity(ex)})", ex);
        }
        catch (NpgsqlException ex)
        {
            // Npgsql itself refused the settings (say, no password where the server asks for one): its message is not repeated, as it may quote them.
            Log.AdminRejected(logger, request.LeaseId, ex.GetType().Name);
            throw new CredentialProviderException(CredentialFailure.AdminRejected,
                $"Tessera could not log in to the database of tool '{request.Tool.Id}' with its admin secret's settings");
        }
    }

    private NpgsqlDataSource DataSourceFor(CredentialRequest request)
    {
        var connectionString = AdminConnection.For(request.AdminSecret, request.Tool);
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(connectionString)));
        if (_dataSources.TryGetValue(key, out var found))
        {
            return found;
        }

        var created = NpgsqlDataSource.Create(connectionString);
        if (_dataSources.TryAdd(key, created))
        {
            return created;
        }

        created.Dispose();
        return _dataSources[key];
    }

    /// <summary>A failure of a statement after the connection opened (renewing or ending), as the lease service needs it.</summary>
    private CredentialProviderException Failure(CredentialRequest request, string operation, NpgsqlException ex)
    {
        Log.Failed(logger, operation, request.LeaseId, request.Username, (ex as PostgresException)?.SqlState ?? "connection");
        if (ex is PostgresException pg && !RetryMaySucceed(pg))
        {
            return new CredentialProviderException(
                pg.SqlState == PostgresErrorCodes.InsufficientPrivilege ? CredentialFailure.AdminRejected : CredentialFailure.Refused,
                $"the database of tool '{request.Tool.Id}' refused to {operation} role {request.Username} (SQL state {pg.SqlState}: {pg.MessageText})", ex);
        }

        return new CredentialProviderException(CredentialFailure.Unavailable,
            $"the database of tool '{request.Tool.Id}' did not answer the request to {operation} role {request.Username} ({Connectivity(ex)})", ex);
    }

    /// <summary>
    /// Whether the server's error is about the connection or the server's state, not the statement,
    /// so retrying may succeed: connection (08), resources (53), operator intervention (57), system
    /// (58) and internal errors (XX; say, a dropping race with a session's temporary tables as it ends).
    /// </summary>
    private static bool RetryMaySucceed(PostgresException ex) =>
        ex.IsTransient || ex.SqlState[..2] is "08" or "53" or "57" or "58" or "XX";

    /// <summary>What went wrong with the connection, in words that quote no setting.</summary>
    private static string Connectivity(NpgsqlException ex) => ex switch
    {
        PostgresException pg => $"SQL state {pg.SqlState}: {pg.MessageText}",
        { InnerException: TimeoutException } => "timed out",
        { InnerException: System.Net.Sockets.SocketException socket } => $"network: {socket.SocketErrorCode}",
        { InnerException: IOException } => "the connection was lost",
        _ => "the connection failed",
    };

    /// <summary>The server's message, unless it quotes the statement (and with it the verifier).</summary>
    private static string Withheld(string message, string verifier)
    {
        var parts = verifier.Split('$', ':');
        return message.Contains("SCRAM", StringComparison.OrdinalIgnoreCase) || parts.Any(p => p.Length >= 16 && message.Contains(p, StringComparison.Ordinal))
            ? "the server's message is withheld: it quotes the statement"
            : message;
    }

    /// <summary>An instant as PostgreSQL reads a timestamptz: UTC, to the microsecond.</summary>
    internal static string Timestamp(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary><paramref name="value"/>, after making sure it holds only <paramref name="alphabet"/>'s characters, so it can sit inside an SQL string literal.</summary>
    private static string Literal(string value, SearchValues<char> alphabet) =>
        value.AsSpan().IndexOfAnyExcept(alphabet) < 0 ? value : throw new InvalidOperationException("a literal holds a character it was never made of");

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Lease {LeaseId}: role {Role} created with its grants")]
        public static partial void Issued(ILogger logger, string leaseId, string role);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Lease {LeaseId}: role {Role} was not created (SQL state {SqlState})")]
        public static partial void IssueFailed(ILogger logger, string leaseId, string role, string sqlState);

        [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Lease {LeaseId}: role {Role} dropped")]
        public static partial void Revoked(ILogger logger, string leaseId, string role);

        [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Lease {LeaseId}: role {Role} does not exist, so it is ended")]
        public static partial void AlreadyGone(ILogger logger, string leaseId, string role);

        [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Lease {LeaseId}: {Count} session(s) of role {Role} ended")]
        public static partial void SessionsEnded(ILogger logger, string leaseId, string role, long count);

        [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Lease {LeaseId}: role {Role} renewed")]
        public static partial void Renewed(ILogger logger, string leaseId, string role);

        [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Lease {LeaseId}: the database refused the admin login ({Why})")]
        public static partial void AdminRejected(ILogger logger, string leaseId, string why);

        [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Lease {LeaseId}: could not {Operation} role {Role} ({Why})")]
        public static partial void Failed(ILogger logger, string operation, string leaseId, string role, string why);

        [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "Lease {LeaseId}: the database could not be reached ({Why})")]
        public static partial void Unreachable(ILogger logger, string leaseId, string why);
    }
}
