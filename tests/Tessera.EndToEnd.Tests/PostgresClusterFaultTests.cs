using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using Tessera.Storage.Postgres.Tests;

namespace Tessera.EndToEnd.Tests;

/// <summary>
/// Two <c>tessera serve</c> processes on one PostgreSQL database, and a fault: one node killed
/// (SIGKILL) under load, or one node cut off from the database while the database and the other
/// node stay up. What a client was told (a 200) holds afterwards, and a node that cannot vouch that
/// it is current refuses rather than accept a revoked token.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Speed", "Slow")] // real processes; a developer's fast set leaves them out (README.md)
[Collection(PostgresCollection.Name)]
public sealed class PostgresClusterFaultTests(PostgresCluster cluster) : IDisposable
{
    private const string Secret = "foo"; // its SHA-256 is in TesseraProcess.CrmAndSupportAgent

    /// <summary>Only to fail a hung test: every wait below ends on its condition, far sooner.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static readonly AuthenticationHeaderValue Basic = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"support-agent:{Secret}")));
    private readonly string _a = Directory.CreateTempSubdirectory("tessera-e2e-fault-a-").FullName;
    private readonly string _b = Directory.CreateTempSubdirectory("tessera-e2e-fault-b-").FullName;
    private readonly Dictionary<string, string> _environment = new() { ["TESSERA_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) };

    [Fact]
    public async Task A_node_killed_under_load_loses_nothing_it_acknowledged_and_the_other_keeps_serving()
    {
        var ct = TestContext.Current.CancellationToken;
        var connectionString = await cluster.CreateDatabaseAsync(ct);
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        var (portA, portB) = (TesseraProcess.FreePort(), TesseraProcess.FreePort());
        await WriteConfigAsync(_a, portA, "node-a", cluster.Port, database, ct);
        await WriteConfigAsync(_b, portB, "node-b", cluster.Port, database, ct);

        var nodeA = TesseraProcess.Start(_a, _environment, "serve");
        await using var killedA = nodeA;
        using var httpA = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{portA}") };
        await nodeA.WaitUntilReadyAsync(httpA);
        await using var nodeB = TesseraProcess.Start(_b, _environment, "serve");
        using var httpB = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{portB}") };
        await nodeB.WaitUntilReadyAsync(httpB);

        // Node B serves throughout: a loop issuing and validating tokens there, every answer recorded.
        using var stopB = new CancellationTokenSource();
        var answersOfB = new ConcurrentQueue<string>();
        using var answeredB = new SemaphoreSlim(0);
        var servingB = Task.Run(async () =>
        {
            while (!stopB.IsCancellationRequested)
            {
                using var issued = await PostAsync(httpB, "/oauth/token", ("grant_type", "client_credentials"), ("scope", "crm:read"));
                if (issued.StatusCode != HttpStatusCode.OK)
                {
                    answersOfB.Enqueue($"token {(int)issued.StatusCode}: {await issued.Content.ReadAsStringAsync()}");
                    answeredB.Release();
                    continue;
                }

                var token = await AccessTokenOfAsync(issued);
                answersOfB.Enqueue(await IntrospectAsync(httpB, token) == true ? "ok" : "issued token not active");
                answeredB.Release();
            }
        }, ct);

        // Eight clients on node A issue tokens and revoke every third; what A acknowledged (a 200 whose
        // body arrived) is recorded. The kill lands while their requests are in flight.
        var issuedByA = new ConcurrentDictionary<string, string>(StringComparer.Ordinal); // jti -> token
        var revokedByA = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        using var enough = new SemaphoreSlim(0);
        var acknowledged = 0;
        var clients = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            try
            {
                for (var i = 0; ; i++)
                {
                    using var issued = await PostAsync(httpA, "/oauth/token", ("grant_type", "client_credentials"), ("scope", "crm:read"));
                    if (issued.StatusCode != HttpStatusCode.OK)
                    {
                        continue;
                    }

                    var token = await AccessTokenOfAsync(issued);
                    issuedByA[JtiOf(token)] = token;
                    if (Interlocked.Increment(ref acknowledged) == 200)
                    {
                        enough.Release();
                    }

                    if (i % 3 == 0)
                    {
                        using var revoked = await PostAsync(httpA, "/oauth/revoke", ("token", token));
                        await revoked.Content.ReadAsByteArrayAsync();
                        if (revoked.StatusCode == HttpStatusCode.OK)
                        {
                            revokedByA[JtiOf(token)] = token;
                        }
                    }
                }
            }
            catch (HttpRequestException)
            {
                // Node A is gone: this client's last request got no answer, so it acknowledged nothing.
            }
        }, ct)).ToArray();

        Assert.True(await enough.WaitAsync(Bound, ct), $"node-a did not issue 200 tokens within {Bound.TotalSeconds:0} s:\n{nodeA.Output}");
        nodeA.Process.Kill(); // SIGKILL: no drain, no flush, no goodbye to PostgreSQL
        await nodeA.Process.WaitForExitAsync(ct).WaitAsync(Bound, ct);
        await Task.WhenAll(clients).WaitAsync(Bound, ct);
        Assert.NotEmpty(revokedByA);

        // Every revocation node A acknowledged reaches node B (from the durable change log; A cannot
        // send anything any more): each is inactive there, within a bound, and the proxy refuses it.
        var clock = Stopwatch.StartNew();
        foreach (var (jti, token) in revokedByA)
        {
            while (await IntrospectAsync(httpB, token) != false)
            {
                Assert.True(clock.Elapsed < Bound, $"node-b still does not say inactive for a token node-a acknowledged revoking ({jti})");
            }
        }

        using (var proxied = await ProxyAsync(httpB, revokedByA.Values.First()))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, proxied.StatusCode);
            Assert.Contains("revoked", await proxied.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }

        // Every token node A acknowledged has its issuance in A's audit chain, and every revocation its event.
        var (issuedEvents, revokedEvents) = (await JtisAsync(connectionString, "node-a", "token.issued", ct), await JtisAsync(connectionString, "node-a", "token.revoked", ct));
        var (unaudited, unrevoked) = (issuedByA.Keys.Except(issuedEvents).ToList(), revokedByA.Keys.Except(revokedEvents).ToList());
        Assert.True(unaudited.Count == 0, $"{unaudited.Count} of {issuedByA.Count} tokens node-a acknowledged have no token.issued event");
        Assert.True(unrevoked.Count == 0, $"{unrevoked.Count} of {revokedByA.Count} revocations node-a acknowledged have no token.revoked event");
        Assert.Equal(0, await RowsHoldingAsync(connectionString, issuedByA.Values.First().Split('.')[2], ct)); // a jti, never the token
        var (verifyCode, verifyOutput) = await TesseraProcess.RunAsync(_a, _environment, "audit", "verify", "--config", Path.Combine(_a, "tessera.yaml"));
        Assert.True(verifyCode == 0, verifyOutput);
        Assert.Contains("audit chain intact", verifyOutput, StringComparison.Ordinal);

        // Node B answered every request, before, during and after the kill, and still does.
        var answeredBefore = answersOfB.Count;
        while (answersOfB.Count < answeredBefore + 10)
        {
            Assert.True(await answeredB.WaitAsync(Bound, ct), "node-b stopped answering after node-a was killed");
        }

        await stopB.CancelAsync();
        await servingB.WaitAsync(Bound, ct);
        Assert.All(answersOfB, answer => Assert.Equal("ok", answer));

        // Node A restarted with the same node id continues its chain: its new events follow the old ones.
        var lastSeq = await LastSeqAsync(connectionString, "node-a", ct);
        await using var restartedA = TesseraProcess.Start(_a, _environment, "serve");
        await restartedA.WaitUntilReadyAsync(httpA);
        using (var issued = await PostAsync(httpA, "/oauth/token", ("grant_type", "client_credentials"), ("scope", "crm:read")))
        {
            Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
            var token = await AccessTokenOfAsync(issued);
            Assert.True(await IntrospectAsync(httpB, token));
            Assert.Contains(JtiOf(token), await JtisAsync(connectionString, "node-a", "token.issued", ct));
        }

        Assert.False(await IntrospectAsync(httpA, revokedByA.Values.First()));
        Assert.Equal(0, await restartedA.TerminateAsync());
        Assert.True(await LastSeqAsync(connectionString, "node-a", ct) > lastSeq);
        (verifyCode, verifyOutput) = await TesseraProcess.RunAsync(_a, _environment, "audit", "verify", "--config", Path.Combine(_a, "tessera.yaml"));
        Assert.True(verifyCode == 0, verifyOutput);
        Assert.Equal(0, await nodeB.TerminateAsync());
    }

    [Fact]
    public async Task A_node_cut_off_from_the_database_refuses_until_it_has_caught_up_and_never_accepts_a_token_revoked_meanwhile()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync(ct)).Database!;
        await using var relay = new TcpRelay(cluster.Port);
        var (portA, portB) = (TesseraProcess.FreePort(), TesseraProcess.FreePort());
        await WriteConfigAsync(_a, portA, "node-a", cluster.Port, database, ct);
        await WriteConfigAsync(_b, portB, "node-b", relay.Port, database, ct); // node B reaches PostgreSQL only through the relay

        await using var nodeA = TesseraProcess.Start(_a, _environment, "serve");
        using var httpA = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{portA}") };
        await nodeA.WaitUntilReadyAsync(httpA);
        await using var nodeB = TesseraProcess.Start(_b, _environment, "serve");
        using var httpB = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{portB}") };
        await nodeB.WaitUntilReadyAsync(httpB);

        var (doomed, valid, doomedLater) = (await IssueAsync(httpA), await IssueAsync(httpA), await IssueAsync(httpA));
        Assert.True(await IntrospectAsync(httpB, doomed));
        Assert.True(await IntrospectAsync(httpB, doomedLater));

        // First cut, nothing asked of node B: within a bound it knows it is no longer current.
        relay.Sever();
        Assert.Equal("not current with the other nodes", await ReadinessOnceItFailsAsync(httpB, nodeB, ct));
        await AssertRefusedAsync(httpB, doomed, ct);

        // A revocation through node A while node B is cut off: node B refuses the token as it refuses everything.
        using (var revoke = await PostAsync(httpA, "/oauth/revoke", ("token", doomed)))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        Assert.False(await IntrospectAsync(httpA, doomed));
        await AssertRefusedAsync(httpB, doomed, ct);
        await AssertRefusedAsync(httpB, valid, ct);

        // The database back, and only /readyz asked (as a load balancer that follows it sends nothing
        // else): node B turns ready by itself, and then knows of the revocation.
        relay.Restore();
        await ReadyAgainAsync(httpB, nodeB, ct);
        await AssertCaughtUpAsync(httpB, doomed, valid, ct);

        // Second cut, and this time clients keep asking node B about a token revoked during the cut,
        // while it is cut off and while it catches up: it never accepts it.
        relay.Sever();
        await ReadinessOnceItFailsAsync(httpB, nodeB, ct);
        using (var revoke = await PostAsync(httpA, "/oauth/revoke", ("token", doomedLater)))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        using var stopWatching = new CancellationTokenSource();
        var (accepted, answers) = (new ConcurrentQueue<string>(), new ConcurrentDictionary<string, int>(StringComparer.Ordinal));
        var watching = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            while (!stopWatching.IsCancellationRequested)
            {
                using var introspected = await PostAsync(httpB, "/oauth/introspect", ("token", doomedLater));
                var body = await introspected.Content.ReadAsStringAsync();
                answers.AddOrUpdate($"introspection {(int)introspected.StatusCode} {ReasonOf(body)}", 1, (_, n) => n + 1);
                if (!(introspected.StatusCode == HttpStatusCode.ServiceUnavailable || (introspected.StatusCode == HttpStatusCode.OK && body.Contains("\"active\":false", StringComparison.Ordinal))))
                {
                    accepted.Enqueue($"introspection {(int)introspected.StatusCode}: {body}");
                }

                using var proxied = await ProxyAsync(httpB, doomedLater);
                body = await proxied.Content.ReadAsStringAsync();
                answers.AddOrUpdate($"proxy {(int)proxied.StatusCode} {ReasonOf(body)}", 1, (_, n) => n + 1);
                if (proxied.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.Unauthorized))
                {
                    accepted.Enqueue($"proxy {(int)proxied.StatusCode}: {body}");
                }
            }
        }, ct)).ToArray();

        relay.Restore();
        await ReadyAgainAsync(httpB, nodeB, ct);
        await stopWatching.CancelAsync();
        await Task.WhenAll(watching).WaitAsync(Bound, ct);
        Assert.True(accepted.IsEmpty, $"node-b accepted a token revoked while it was cut off: {string.Join("; ", accepted)}");
        TestContext.Current.SendDiagnosticMessage($"node-b's answers about the revoked token through the second cut: {string.Join(", ", answers.Select(a => $"{a.Key} x{a.Value}"))}");
        await AssertCaughtUpAsync(httpB, doomedLater, valid, ct);

        Assert.Equal(0, await nodeB.TerminateAsync());
        Assert.Equal(0, await nodeA.TerminateAsync());
        var (verifyCode, verifyOutput) = await TesseraProcess.RunAsync(_b, _environment, "audit", "verify", "--config", Path.Combine(_b, "tessera.yaml"));
        Assert.True(verifyCode == 0, verifyOutput);
    }

    /// <summary>Asks /readyz until it fails (bounded: max_staleness is 1 s) and returns why (its first line; the second names the configuration).</summary>
    private static async Task<string> ReadinessOnceItFailsAsync(HttpClient http, TesseraProcess node, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var ready = await http.GetAsync("/readyz", ct);
            if (ready.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                return (await ready.Content.ReadAsStringAsync(ct)).Split('\n')[0];
            }

            Assert.True(clock.Elapsed < Bound, $"node-b still ready {Bound.TotalSeconds:0} s after it was cut off from its database (max_staleness 1 s):\n{node.Output}");
        }
    }

    private static async Task ReadyAgainAsync(HttpClient http, TesseraProcess node, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var ready = await http.GetAsync("/readyz", ct);
            var body = await ready.Content.ReadAsStringAsync(ct);
            if (ready.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            Assert.True(clock.Elapsed < Bound, $"node-b not ready {Bound.TotalSeconds:0} s after its database came back ({body.Trim()}):\n{node.Output}");
        }
    }

    /// <summary>
    /// Node B cut off answers 503 on the token endpoint, introspection and the proxy, and fails
    /// /readyz. Its refusal says <c>cluster.stale</c> when it can record it; cut off from the
    /// database it cannot record even the refusal, and says so instead (the same 503).
    /// </summary>
    private static async Task AssertRefusedAsync(HttpClient http, string token, CancellationToken ct)
    {
        using (var issued = await PostAsync(http, "/oauth/token", ("grant_type", "client_credentials"), ("scope", "crm:read")))
        {
            AssertUnavailable(issued.StatusCode, await issued.Content.ReadAsStringAsync(ct));
        }

        using (var introspected = await PostAsync(http, "/oauth/introspect", ("token", token)))
        {
            AssertUnavailable(introspected.StatusCode, await introspected.Content.ReadAsStringAsync(ct));
        }

        using (var proxied = await ProxyAsync(http, token))
        {
            AssertUnavailable(proxied.StatusCode, await proxied.Content.ReadAsStringAsync(ct));
        }

        using var ready = await http.GetAsync("/readyz", ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }

    private static void AssertUnavailable(HttpStatusCode status, string body)
    {
        Assert.True(status == HttpStatusCode.ServiceUnavailable, $"{(int)status}: {body}");
        Assert.True(ReasonOf(body) is "cluster.stale" or "not recorded", body);
    }

    /// <summary>What a 503 of node B says: <c>cluster.stale</c>, or that the request could not be recorded.</summary>
    private static string ReasonOf(string body) =>
        body.Contains("\"cluster.stale\"", StringComparison.Ordinal) ? "cluster.stale"
        : body.Contains("could not be recorded", StringComparison.Ordinal) ? "not recorded"
        : body.Contains("revoked", StringComparison.Ordinal) ? "revoked"
        : "";

    /// <summary>Node B caught up: the revoked token refused, the valid one accepted, new tokens issued.</summary>
    private static async Task AssertCaughtUpAsync(HttpClient http, string revoked, string valid, CancellationToken ct)
    {
        Assert.False(await IntrospectAsync(http, revoked));
        using (var refused = await ProxyAsync(http, revoked))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Contains("revoked", await refused.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }

        Assert.True(await IntrospectAsync(http, valid));
        using (var forwarded = await ProxyAsync(http, valid))
        {
            // Accepted and forwarded: nothing listens at the crm's upstream, so the proxy says so (not 401, not 503).
            Assert.Equal(HttpStatusCode.BadGateway, forwarded.StatusCode);
        }

        Assert.True(await IntrospectAsync(http, await IssueAsync(http)));
    }

    private static async Task<string> IssueAsync(HttpClient http)
    {
        using var issued = await PostAsync(http, "/oauth/token", ("grant_type", "client_credentials"), ("scope", "crm:read"));
        Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
        return await AccessTokenOfAsync(issued);
    }

    private static async Task<string> AccessTokenOfAsync(HttpResponseMessage issued)
    {
        using var json = JsonDocument.Parse(await issued.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("access_token").GetString()!;
    }

    private static string JtiOf(string token)
    {
        using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[1]));
        return payload.RootElement.GetProperty("jti").GetString()!;
    }

    /// <summary>The <c>jti</c> of every event of <paramref name="type"/> in <paramref name="node"/>'s chain, read from the database.</summary>
    private static async Task<HashSet<string>> JtisAsync(string connectionString, string node, string type, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var query = connection.CreateCommand();
        query.CommandText = "SELECT convert_from(json, 'UTF8')::jsonb ->> 'jti' FROM audit_events WHERE node = $1 AND type = $2";
        query.Parameters.Add(new NpgsqlParameter { Value = node });
        query.Parameters.Add(new NpgsqlParameter { Value = type });
        var jtis = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await query.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            if (!await reader.IsDBNullAsync(0, ct))
            {
                jtis.Add(reader.GetString(0));
            }
        }

        return jtis;
    }

    /// <summary>How many audit rows, of any node, hold <paramref name="text"/> anywhere in their event.</summary>
    private static async Task<long> RowsHoldingAsync(string connectionString, string text, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var query = connection.CreateCommand();
        query.CommandText = "SELECT count(*) FROM audit_events WHERE position(convert_to($1, 'UTF8') IN json) > 0";
        query.Parameters.Add(new NpgsqlParameter { Value = text });
        return (long)(await query.ExecuteScalarAsync(ct))!;
    }

    private static async Task<long> LastSeqAsync(string connectionString, string node, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var query = connection.CreateCommand();
        query.CommandText = "SELECT max(seq) FROM audit_events WHERE node = $1";
        query.Parameters.Add(new NpgsqlParameter { Value = node });
        return (long)(await query.ExecuteScalarAsync(ct))!;
    }

    private static Task WriteConfigAsync(string directory, int port, string nodeId, int databasePort, string database, CancellationToken ct) =>
        File.WriteAllTextAsync(Path.Combine(directory, "tessera.yaml"), $$"""
            server:
              listen: http://127.0.0.1:{{port}}
              issuer: https://tessera.example  # one installation: one issuer, whichever node signs
            storage: postgres://tessera@127.0.0.1:{{databasePort}}/{{database}}
            cluster: { node_id: {{nodeId}}, max_staleness: 1s }
            {{TesseraProcess.CrmAndSupportAgent}}
            """, ct);

    /// <summary>True when introspection answers active, false when inactive, null when it refuses (e.g. 503).</summary>
    private static async Task<bool?> IntrospectAsync(HttpClient http, string token)
    {
        using var response = await PostAsync(http, "/oauth/introspect", ("token", token));
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return null;
        }

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("active").GetBoolean();
    }

    private static Task<HttpResponseMessage> ProxyAsync(HttpClient http, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/proxy/crm/contacts/1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http.SendAsync(request);
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, string path, params (string, string)[] form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new FormUrlEncodedContent(form.Select(f => KeyValuePair.Create(f.Item1, f.Item2))),
        };
        request.Headers.Authorization = Basic;
        return await http.SendAsync(request);
    }

    public void Dispose()
    {
        Directory.Delete(_a, recursive: true);
        Directory.Delete(_b, recursive: true);
    }
}
