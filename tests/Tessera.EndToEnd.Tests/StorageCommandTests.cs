using System.Collections.Concurrent;
using Npgsql;
using Tessera.Core.Approvals;
using Tessera.Core.Audit;
using Tessera.Core.Leases;
using Tessera.Core.Missions;
using Tessera.Core.Storage;
using Tessera.Storage.Postgres.Tests;
using Tessera.Storage.Sqlite;

namespace Tessera.EndToEnd.Tests;

/// <summary>
/// <c>tessera storage migrate</c> and <c>tessera storage copy</c> against real processes, a real
/// SQLite file and a real PostgreSQL: an embedded installation moves to PostgreSQL and a node started
/// there continues it (the audit chain verifies before and after new events, a revoked token stays
/// revoked, a suspended agent stays suspended, the vault's secret reaches the upstream); a target in use,
/// an unreachable target and a broken source are refused with nothing written and no password shown.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Speed", "Slow")] // real processes; a developer's fast set leaves them out (README.md)
[Collection(PostgresCollection.Name)]
public sealed class StorageCommandTests(PostgresCluster cluster) : IDisposable
{
    private const string AgentSecret = "e2e-copy-agent-secret-8d2b6f0a41";
    private const string ReportSecret = "e2e-copy-report-secret-1c7e5a9d03";
    private const string CrmKey = "crm-copied-value-5e0b7c2d9a";
    private const string Password = "not-needed-by-trust-but-never-shown";
    private readonly string _directory = Directory.CreateTempSubdirectory("tessera-e2e-copy-").FullName;
    private readonly Dictionary<string, string> _environment = new() { ["TESSERA_DB_PASSWORD"] = Password };
    private readonly int _port = TesseraProcess.FreePort();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_copied_embedded_installation_continues_on_postgres_with_its_chain_revocations_suspensions_and_secrets()
    {
        using var upstream = new HttpListener();
        var upstreamPort = TesseraProcess.FreePort();
        upstream.Prefixes.Add($"http://127.0.0.1:{upstreamPort}/");
        upstream.Start();
        var received = new ConcurrentQueue<(string Target, string? Key)>();
        _ = ServeAsync(upstream, received);
        var outputs = new StringBuilder();

        // The embedded installation: a secret, a token revoked, a token kept, an agent suspended.
        await WriteConfigAsync(upstreamPort, "storage: sqlite:data/tessera.db");
        string kept, revoked;
        await using (var embedded = TesseraProcess.Start(_directory, null, "serve"))
        {
            using var http = Client();
            await embedded.WaitUntilReadyAsync(http);
            var put = await TesseraProcess.RunWithInputAsync(_directory, CrmKey + "\n", "secret", "put", "crm-key");
            Assert.True(put.ExitCode == 0, put.Output);
            kept = await TokenAsync(http, "support-agent", AgentSecret);
            revoked = await TokenAsync(http, "support-agent", AgentSecret);
            Assert.Equal(HttpStatusCode.OK, await ProxyAsync(http, kept, "/proxy/crm/contacts/1"));
            using (var revoke = await FormAsync(http, "/oauth/revoke", "support-agent", AgentSecret, ("token", revoked)))
            {
                Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
            }

            var suspend = await TesseraProcess.RunAsync(_directory, "agent", "suspend", "report-agent");
            Assert.True(suspend.ExitCode == 0, suspend.Output);
            Assert.Equal(0, await embedded.TerminateAsync());
        }

        // A mission, an approval and a lease, through the store as the broker writes them, continuing the chain.
        await AppendMissionApprovalAndLeaseAsync(Path.Combine(_directory, "data", "tessera.db"));
        var (sourceCode, sourceVerify) = await TesseraProcess.RunAsync(_directory, "audit", "verify");
        Assert.True(sourceCode == 0, sourceVerify);
        var sourceEvents = EventsVerified(sourceVerify);

        var database = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync(Ct)).Database!;
        var target = $"postgres://tessera@127.0.0.1:{cluster.Port}/{database}";
        var copy = await TesseraProcess.RunAsync(_directory, _environment, "storage", "copy", "--from", "sqlite:data/tessera.db", "--to", target, "--node", "e2e-node");
        Assert.True(copy.ExitCode == 0, copy.Output);
        Assert.Contains($"audit chain of {sourceEvents} events", copy.Output, StringComparison.Ordinal);
        Assert.Contains("is now the chain of node 'e2e-node'", copy.Output, StringComparison.Ordinal);
        Assert.Contains("every node must use this installation's master key", copy.Output, StringComparison.Ordinal);
        outputs.AppendLine(copy.Output);
        await using (var connection = await OpenAsync(database))
        {
            Assert.Equal(1L, await ScalarAsync(connection, "SELECT COUNT(*) FROM missions"));
            Assert.Equal(1L, await ScalarAsync(connection, "SELECT COUNT(*) FROM approvals"));
            Assert.Equal(1L, await ScalarAsync(connection, "SELECT COUNT(*) FROM agent_suspensions"));
            Assert.Equal("lease-copied,orders-db,support-agent,alice,m-copied,3,expired",
                await ScalarAsync(connection, "SELECT string_agg(concat_ws(',', id, tool, agent, principal, mission, status, end_reason), ';') FROM leases WHERE ended_at IS NOT NULL"));
            Assert.Equal("e2e-node", await ScalarAsync(connection, "SELECT string_agg(DISTINCT node, ',') FROM audit_events"));
        }

        // The same directory (so the same master key), now one node on PostgreSQL.
        await WriteConfigAsync(upstreamPort, $"storage: {target}\ncluster: {{ node_id: e2e-node }}");
        var (copiedCode, copiedVerify) = await TesseraProcess.RunAsync(_directory, _environment, "audit", "verify");
        Assert.True(copiedCode == 0, copiedVerify);
        Assert.Equal(sourceEvents, EventsVerified(copiedVerify));

        await using (var node = TesseraProcess.Start(_directory, _environment, "serve"))
        {
            using var http = Client();
            await node.WaitUntilReadyAsync(http);
            Assert.False(await IsActiveAsync(http, revoked));
            Assert.True(await IsActiveAsync(http, kept));
            Assert.Equal(HttpStatusCode.OK, await ProxyAsync(http, kept, "/proxy/crm/contacts/2"));
            using (var suspended = await FormAsync(http, "/oauth/token", "report-agent", ReportSecret, ("grant_type", "client_credentials"), ("scope", "crm:read")))
            {
                Assert.False(suspended.IsSuccessStatusCode);
            }

            _ = await TokenAsync(http, "support-agent", AgentSecret);
            Assert.Equal(0, await node.TerminateAsync());
            outputs.AppendLine(node.Output);
        }

        // New events continued the copied chain.
        var (afterCode, afterVerify) = await TesseraProcess.RunAsync(_directory, _environment, "audit", "verify");
        Assert.True(afterCode == 0, afterVerify);
        Assert.True(EventsVerified(afterVerify) > sourceEvents, afterVerify);
        Assert.Equal([("/contacts/1", CrmKey), ("/contacts/2", CrmKey)], received.ToArray());
        outputs.AppendLine(copiedVerify).AppendLine(afterVerify);
        Assert.DoesNotContain(Password, outputs.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(CrmKey, outputs.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_copy_into_a_database_in_use_is_refused_and_leaves_it_unchanged()
    {
        await CreateSourceAsync();
        var database = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync(Ct)).Database!;
        var target = $"postgres://tessera@127.0.0.1:{cluster.Port}/{database}";
        await WriteConfigAsync(TesseraProcess.FreePort(), $"storage: {target}\ncluster: {{ node_id: other-node }}");
        var migrate = await TesseraProcess.RunAsync(_directory, _environment, "storage", "migrate");
        Assert.True(migrate.ExitCode == 0, migrate.Output);
        await using var connection = await OpenAsync(database);
        await ScalarAsync(connection, "INSERT INTO agent_suspensions (agent_id, suspended_at) VALUES ('someone', 1)");

        var copy = await TesseraProcess.RunAsync(_directory, _environment, "storage", "copy", "--from", "sqlite:source.db", "--to", target, "--node", "e2e-node");

        Assert.Equal(1, copy.ExitCode);
        Assert.Contains("Copy refused: the target database is not empty (rows in agent_suspensions)", copy.Output, StringComparison.Ordinal);
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM audit_events"));
        Assert.Equal("someone", await ScalarAsync(connection, "SELECT string_agg(agent_id, ',') FROM agent_suspensions"));
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM missions"));
    }

    [Fact]
    public async Task A_source_whose_audit_chain_is_broken_is_not_copied()
    {
        var source = await CreateSourceAsync();
        await using (var file = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={source};Pooling=False"))
        {
            await file.OpenAsync(Ct);
            await using var tamper = file.CreateCommand();
            tamper.CommandText = "UPDATE audit_events SET hash = '00' || substr(hash, 3) WHERE seq = 2";
            await tamper.ExecuteNonQueryAsync(Ct);
        }

        var database = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync(Ct)).Database!;
        var copy = await TesseraProcess.RunAsync(_directory, _environment, "storage", "copy", "--from", "sqlite:source.db", "--to", $"postgres://tessera@127.0.0.1:{cluster.Port}/{database}");

        Assert.Equal(1, copy.ExitCode);
        Assert.Contains("Copy refused: the source's audit chain is broken at seq 2", copy.Output, StringComparison.Ordinal);
        await using var connection = await OpenAsync(database);
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'audit_events'"));
    }

    [Fact]
    public async Task Copy_and_migrate_on_an_unreachable_database_exit_1_with_one_line_naming_no_password()
    {
        await CreateSourceAsync();
        var unreachable = $"postgres://tessera:{Password}@127.0.0.1:{TesseraProcess.FreePort()}/tessera";
        await WriteConfigAsync(TesseraProcess.FreePort(), $"storage: {unreachable}");

        var copy = await TesseraProcess.RunAsync(_directory, "storage", "copy", "--from", "sqlite:source.db", "--to", unreachable);
        var migrate = await TesseraProcess.RunAsync(_directory, "storage", "migrate");

        Assert.Equal((1, 1), (copy.ExitCode, migrate.ExitCode));
        Assert.StartsWith("Copy refused: ", copy.Output, StringComparison.Ordinal);
        Assert.StartsWith("Migration refused: ", migrate.Output, StringComparison.Ordinal);
        Assert.Single(Lines(copy.Output));
        Assert.Single(Lines(migrate.Output));
        Assert.DoesNotContain(Password, copy.Output + migrate.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_applies_every_step_to_an_empty_database_and_nothing_the_second_time()
    {
        var database = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync(Ct)).Database!;
        await WriteConfigAsync(TesseraProcess.FreePort(), $"storage: postgres://tessera@127.0.0.1:{cluster.Port}/{database}");

        var first = await TesseraProcess.RunAsync(_directory, _environment, "storage", "migrate");
        var second = await TesseraProcess.RunAsync(_directory, _environment, "storage", "migrate");

        Assert.True(first.ExitCode == 0, first.Output);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Matches(@"^PostgreSQL schema migrated from version 0 to (\d+) \(\1 applied\)$", first.Output.Trim());
        Assert.Matches(@"^PostgreSQL schema is current \(version \d+\); nothing applied$", second.Output.Trim());
        await using var connection = await OpenAsync(database);
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM audit_events"));
    }

    [Fact]
    public async Task Migrate_refuses_a_database_from_a_newer_build_in_one_line()
    {
        var database = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync(Ct)).Database!;
        await WriteConfigAsync(TesseraProcess.FreePort(), $"storage: postgres://tessera@127.0.0.1:{cluster.Port}/{database}");
        Assert.Equal(0, (await TesseraProcess.RunAsync(_directory, _environment, "storage", "migrate")).ExitCode);
        await using (var connection = await OpenAsync(database))
        {
            await ScalarAsync(connection, "INSERT INTO schema_migrations (version) VALUES (999)");
        }

        var newer = await TesseraProcess.RunAsync(_directory, _environment, "storage", "migrate");

        Assert.Equal(1, newer.ExitCode);
        Assert.Matches(@"^Migration refused: the database has schema version 999, newer than this build understands \(\d+\); upgrade Tessera$", newer.Output.Trim());
    }

    /// <summary>A small embedded database (source.db in the test directory) with a chain of three events, written through the store.</summary>
    private async Task<string> CreateSourceAsync()
    {
        var path = Path.Combine(_directory, "source.db");
        await using var store = new SqliteTesseraStore(path);
        await store.MigrateAsync(Ct);
        var time = TimeProvider.System.GetUtcNow();
        var head = new AuditHead(0, AuditEvent.GenesisHash);
        for (var i = 0; i < 3; i++)
        {
            var e = Next(head, new AuditRecord { Type = AuditTypes.AgentSuspended, Outcome = AuditOutcomes.Allowed, Agent = "admin" }, time);
            await store.Audit.AppendAsync([e], [], Ct);
            head = new AuditHead(e.Seq, e.Hash);
        }

        return path;
    }

    private static async Task AppendMissionApprovalAndLeaseAsync(string path)
    {
        await using var store = new SqliteTesseraStore(path);
        await store.MigrateAsync(Ct);
        var now = TimeProvider.System.GetUtcNow();
        var head = await store.Audit.GetHeadAsync(Ct);
        var started = Next(head, new AuditRecord { Type = AuditTypes.TokenExchanged, Outcome = AuditOutcomes.Allowed, Agent = "support-agent", Mission = "m-copied" }, now);
        await store.Audit.AppendAsync([started], [new MissionStarted(new MissionRecord("m-copied", "alice", "corp", ["support-agent"], "Answer ticket 42", now, now.AddHours(1)))], Ct);
        var denied = Next(new AuditHead(started.Seq, started.Hash), new AuditRecord { Type = AuditTypes.ApprovalRequested, Outcome = AuditOutcomes.Allowed, Agent = "support-agent" }, now);
        await store.Audit.AppendAsync([denied], [new ApprovalRequested(new ApprovalRequest
        {
            Id = "ap-copied",
            Status = ApprovalStatus.Denied,
            ClientId = "support-agent",
            Principal = "alice",
            Idp = "corp",
            ActorChain = ["support-agent"],
            Tool = "crm",
            Audience = "urn:tessera:tool:crm",
            Scopes = ["crm:read"],
            GatedScopes = ["crm:read"],
            Group = "security-oncall",
            CreatedAt = now,
            ExpiresAt = now.AddMinutes(10),
            Interval = 5,
            Ttl = TimeSpan.FromMinutes(10),
            MaxUses = 1,
            TokenLifetime = TimeSpan.FromMinutes(5),
        })], Ct);

        // A lease that was issued and has ended: its record is copied with the rest.
        await store.Leases.OpenAsync(new Lease
        {
            Id = "lease-copied",
            Tool = "orders-db",
            Username = LeaseNames.RoleOf("lease-copied"),
            Status = LeaseStatus.Issuing,
            Agent = "support-agent",
            Principal = "alice",
            Mission = "m-copied",
            Jti = "jti-leased",
            TokenIssuedAt = now.ToUnixTimeSeconds(),
            Scopes = ["db:read"],
            CreatedAt = now,
            ExpiresAt = now.AddMinutes(15),
        }, Ct);
        var ended = Next(new AuditHead(denied.Seq, denied.Hash), new AuditRecord { Type = AuditTypes.LeaseRevoked, Outcome = AuditOutcomes.Allowed, Agent = "support-agent", Tool = "orders-db" }, now);
        await store.Audit.AppendAsync([ended], [new LeaseStep("lease-copied", LeaseStatus.Ended, now, EndReason: "expired")], Ct);
    }

    private static AuditEvent Next(AuditHead head, AuditRecord record, DateTimeOffset time)
    {
        var json = AuditEvent.Serialize(head.Seq + 1, time, record, head.Hash);
        return new AuditEvent { Seq = head.Seq + 1, Time = time, Record = record, PrevHash = head.Hash, Hash = Convert.ToHexStringLower(SHA256.HashData(json)), Json = json };
    }

    private Task WriteConfigAsync(int upstreamPort, string storage) =>
        File.WriteAllTextAsync(Path.Combine(_directory, "tessera.yaml"), $$"""
            server:
              listen: http://127.0.0.1:{{_port}}
            {{storage}}
            data_dir: data
            tools:
              - id: crm
                upstream: http://127.0.0.1:{{upstreamPort}}
                credential: { secret: crm-key, header: X-Api-Key }
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
            agents:
              - id: support-agent
                owner: support-platform@corp.example
                purpose: Answer customer tickets
                expires: {{TesseraProcess.AgentExpiry}}
                auth: { client_secret_sha256: {{Sha256(AgentSecret)}} }
                allowed_scopes: [ "crm:read" ]
              - id: report-agent
                owner: support-platform@corp.example
                purpose: Weekly reports
                expires: {{TesseraProcess.AgentExpiry}}
                auth: { client_secret_sha256: {{Sha256(ReportSecret)}} }
                allowed_scopes: [ "crm:read" ]
            """, Ct);

    private HttpClient Client() => new() { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };

    private static string Sha256(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    private static long EventsVerified(string verifyOutput)
    {
        var match = System.Text.RegularExpressions.Regex.Match(verifyOutput, @"audit chain intact: (\d+) events");
        Assert.True(match.Success, verifyOutput);
        return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private async Task<NpgsqlConnection> OpenAsync(string database)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(cluster.AdminConnectionString) { Database = database, Pooling = false }.ConnectionString);
        await connection.OpenAsync(Ct);
        return connection;
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(Ct);
    }

    private static async Task<string> TokenAsync(HttpClient http, string client, string secret)
    {
        using var response = await FormAsync(http, "/oauth/token", client, secret, ("grant_type", "client_credentials"), ("scope", "crm:read"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("access_token").GetString()!;
    }

    private static async Task<bool> IsActiveAsync(HttpClient http, string token)
    {
        using var response = await FormAsync(http, "/oauth/introspect", "support-agent", AgentSecret, ("token", token));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("active").GetBoolean();
    }

    private static async Task<HttpResponseMessage> FormAsync(HttpClient http, string path, string client, string secret, params (string, string)[] form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new FormUrlEncodedContent(form.Select(f => KeyValuePair.Create(f.Item1, f.Item2))),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{client}:{secret}")));
        return await http.SendAsync(request);
    }

    private static async Task<HttpStatusCode> ProxyAsync(HttpClient http, string token, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task ServeAsync(HttpListener listener, ConcurrentQueue<(string, string?)> received)
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            received.Enqueue((context.Request.RawUrl ?? "", context.Request.Headers["X-Api-Key"]));
            context.Response.StatusCode = 200;
            context.Response.Close();
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
