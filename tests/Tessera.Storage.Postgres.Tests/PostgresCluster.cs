using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>
/// A throwaway PostgreSQL cluster for the tests: initdb into a temporary directory, started with
/// <c>pg_ctl -w</c> on 127.0.0.1 and a free port (its Unix socket inside that directory), and
/// stopped and deleted at the end. Each test class gets a fresh database and each test a fresh
/// schema in it (<see cref="CreateSchemaAsync"/>), so tests never see each other's rows. PostgreSQL refuses to run as root: when the tests run as root (as in CI), the
/// cluster is initialized and run as the <c>postgres</c> system user, which owns the directory.
/// No mock and no silent skip: when the binaries are missing or the cluster cannot start, starting
/// the fixture fails, and with it every test that uses it, saying why and what to install.
/// </summary>
public sealed class PostgresCluster : IAsyncLifetime
{
    private const string SystemUser = "postgres";
    private const string Superuser = "tessera";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<string>>> _classDatabases = new(StringComparer.Ordinal);
    private int _databases;
    private int _schemas;
    private string? _root;
    private string? _pgCtl;

    /// <summary>A connection string for the cluster's <c>postgres</c> database, as the superuser.</summary>
    public string AdminConnectionString { get; private set; } = "";

    /// <summary>The port the cluster listens on at 127.0.0.1.</summary>
    public int Port { get; private set; }

    /// <summary>How long initdb and the start took, for the report of a slow suite.</summary>
    public TimeSpan StartTime { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var watch = Stopwatch.StartNew();
        var bin = FindBinaries()
            ?? throw new InvalidOperationException(
                "PostgreSQL's initdb and pg_ctl were found neither in TESSERA_TEST_PG_BIN (when set), on PATH nor in /usr/lib/postgresql/*/bin; " +
                "the PostgreSQL storage tests need them: install PostgreSQL's server binaries (Debian: apt-get install -y postgresql).");
        var initdb = Path.Combine(bin, "initdb");
        _pgCtl = Path.Combine(bin, "pg_ctl");
        _root = Directory.CreateTempSubdirectory("tessera-pg-").FullName;
        var data = Path.Combine(_root, "data");
        var socket = Path.Combine(_root, "socket");
        Directory.CreateDirectory(socket);
        if (Environment.IsPrivilegedProcess)
        {
            await RunAsync("chown", ["-R", $"{SystemUser}:", _root], asSystemUser: false,
                $"the tests run as root, and PostgreSQL refuses to: the cluster runs as the '{SystemUser}' system user, which Debian's postgresql package creates (apt-get install -y postgresql)");
        }

        // --no-sync only skips flushing the files initdb writes (a crash here just fails the run);
        // the server below runs with fsync on, since committed data surviving is what the store promises.
        await RunAsync(initdb, ["-D", data, "-A", "trust", "-U", Superuser, "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"], Environment.IsPrivilegedProcess,
            "initdb could not create the test cluster");
        // The free port is found by binding and releasing it, so another process may take it before the
        // server binds: then the start fails, and a second or third port is tried.
        for (var attempt = 1; ; attempt++)
        {
            Port = FreePort();
            string[] settings =
            [
                "listen_addresses=127.0.0.1", $"port={Port}", $"unix_socket_directories={socket}",
                "fsync=on", "synchronous_commit=on",

                // Torn pages after an OS crash are not what these tests exercise; skipping full-page images keeps WAL small.
                "full_page_writes=off",
                "max_connections=300", "shared_buffers=32MB", "max_wal_size=256MB", "log_min_messages=warning",
            ];
            var options = string.Join(' ', settings.Select(s => "-c " + s));
            try
            {
                await RunAsync(_pgCtl, ["-D", data, "-w", "-t", "60", "-l", Path.Combine(_root, "server.log"), "-o", options, "start"], Environment.IsPrivilegedProcess,
                    "pg_ctl could not start the test cluster", Path.Combine(_root, "server.log"));
                break;
            }
            catch (InvalidOperationException) when (attempt < 3 && !File.Exists(Path.Combine(data, "postmaster.pid")))
            {
                // Try another port.
            }
        }

        AdminConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = Superuser,
            Database = "postgres",
            Pooling = false,
        }.ConnectionString;
        StartTime = watch.Elapsed;
    }

    /// <summary>
    /// Creates an empty database (from <c>template0</c>, so nothing another test did can be in it)
    /// and returns a connection string for it.
    /// </summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken)
    {
        var name = $"t{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}";
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var create = connection.CreateCommand();
            create.CommandText = $"CREATE DATABASE {name} TEMPLATE template0";
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    /// <summary>
    /// An empty schema for one test, in the database of its test class (created with the class's
    /// first test): a connection string whose search path is that schema, so every table the store
    /// creates and reads is the test's own. A schema costs a fraction of a database, and the
    /// migrations still run on an empty schema in every test.
    /// </summary>
    public async Task<string> CreateSchemaAsync(CancellationToken cancellationToken)
    {
        var testClass = TestContext.Current.TestClass?.TestClassName ?? "";
        var database = await _classDatabases.GetOrAdd(testClass, _ => new Lazy<Task<string>>(() => CreateDatabaseAsync(CancellationToken.None))).Value;
        var schema = $"s{Interlocked.Increment(ref _schemas)}";
        await using (var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { Pooling = false }.ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var create = connection.CreateCommand();
            create.CommandText = $"CREATE SCHEMA {schema}";
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        return new NpgsqlConnectionStringBuilder(database) { SearchPath = schema }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_root is null)
        {
            return;
        }

        try
        {
            if (_pgCtl is not null && File.Exists(Path.Combine(_root, "data", "postmaster.pid")))
            {
                await RunAsync(_pgCtl, ["-D", Path.Combine(_root, "data"), "-w", "-t", "60", "-m", "immediate", "stop"], Environment.IsPrivilegedProcess, "pg_ctl could not stop the test cluster");
            }
        }
        finally
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    /// <summary>
    /// The directory holding initdb and pg_ctl: the one <c>TESSERA_TEST_PG_BIN</c> names (and only
    /// it), else the first on PATH, else the highest version under /usr/lib/postgresql.
    /// </summary>
    private static string? FindBinaries()
    {
        if (Environment.GetEnvironmentVariable("TESSERA_TEST_PG_BIN") is { Length: > 0 } chosen)
        {
            return File.Exists(Path.Combine(chosen, "initdb")) && File.Exists(Path.Combine(chosen, "pg_ctl")) ? chosen : null;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
            {
                return dir;
            }
        }

        const string debian = "/usr/lib/postgresql";
        if (!Directory.Exists(debian))
        {
            return null;
        }

        return Directory.GetDirectories(debian)
            .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d).Split('.')[0], out var v) ? v : -1))
            .Where(d => File.Exists(Path.Combine(d.Dir, "initdb")) && File.Exists(Path.Combine(d.Dir, "pg_ctl")))
            .OrderByDescending(d => d.Version)
            .Select(d => d.Dir)
            .FirstOrDefault();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string file, string[] args, bool asSystemUser, string failure, string? logFile = null)
    {
        var info = new ProcessStartInfo(asSystemUser ? "runuser" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asSystemUser)
        {
            foreach (var a in new[] { "-u", SystemUser, "--", file })
            {
                info.ArgumentList.Add(a);
            }
        }

        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"{failure}: {info.FileName} did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"{failure}: cannot run {info.FileName} ({ex.Message}); install PostgreSQL's server binaries (Debian: apt-get install -y postgresql)", ex);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            try
            {
                await process.WaitForExitAsync().WaitAsync(Patience);
            }
            catch (TimeoutException)
            {
                process.Kill(entireProcessTree: true);
                throw new InvalidOperationException($"{failure}: {Path.GetFileName(file)} did not finish within {Patience.TotalSeconds:0} s");
            }

            if (process.ExitCode != 0)
            {
                var log = logFile is not null && File.Exists(logFile) ? "\nserver log:\n" + await File.ReadAllTextAsync(logFile) : "";
                throw new InvalidOperationException(
                    $"{failure}: {Path.GetFileName(file)} exited with {process.ExitCode}\n{await stdout}{await stderr}{log}\n" +
                    "(PostgreSQL's server binaries are needed: Debian: apt-get install -y postgresql; as root the cluster runs as the 'postgres' user)");
            }
        }
    }
}
