using System.Diagnostics;
using Npgsql;
using Tessera.Storage.Postgres.Tests;

namespace Tessera.EndToEnd.Tests;

/// <summary>
/// Two <c>tessera serve</c> processes on one PostgreSQL database, each with its own data directory
/// and the same master key: a token issued by one is verified by the other, and once revoked through
/// one, the other's introspection says inactive and its proxy refuses it; the audit log, queried and
/// verified through one node, holds the events of both.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Speed", "Slow")] // real processes; a developer's fast set leaves them out (README.md)
[Collection(PostgresCollection.Name)]
public sealed class PostgresClusterServeTests(PostgresCluster cluster) : IDisposable
{
    private const string Secret = "foo"; // its SHA-256 is in the configuration below
    private readonly string _a = Directory.CreateTempSubdirectory("tessera-e2e-node-a-").FullName;
    private readonly string _b = Directory.CreateTempSubdirectory("tessera-e2e-node-b-").FullName;

    [Fact]
    public async Task A_token_revoked_through_one_node_is_inactive_and_refused_at_the_other()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync(ct)).Database!;
        var environment = new Dictionary<string, string> { ["TESSERA_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) };
        var (portA, portB) = (TesseraProcess.FreePort(), TesseraProcess.FreePort());
        await WriteConfigAsync(_a, portA, "node-a", database, ct);
        await WriteConfigAsync(_b, portB, "node-b", database, ct);

        // The first node alone creates the first signing key; the second finds it.
        await using var nodeA = TesseraProcess.Start(_a, environment, "serve");
        using var httpA = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{portA}") };
        await nodeA.WaitUntilReadyAsync(httpA);
        await using var nodeB = TesseraProcess.Start(_b, environment, "serve");
        using var httpB = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{portB}") };
        await nodeB.WaitUntilReadyAsync(httpB);
        var basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"support-agent:{Secret}")));

        using var tokenResponse = await PostAsync(httpA, "/oauth/token", basic, ("grant_type", "client_credentials"), ("scope", "crm:read"));
        Assert.Equal(HttpStatusCode.OK, tokenResponse.StatusCode);
        using var tokenJson = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync(ct));
        var token = tokenJson.RootElement.GetProperty("access_token").GetString()!;
        Assert.True(await IsActiveAsync(httpB, basic, token));

        using var revoke = await PostAsync(httpA, "/oauth/revoke", basic, ("token", token));
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);

        // Propagation is asynchronous (milliseconds): ask node B until it answers inactive, within a
        // bound far above max_staleness, each question a real round trip.
        var clock = Stopwatch.StartNew();
        while (await IsActiveAsync(httpB, basic, token))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "node-b still says active 10 s after node-a revoked the token");
        }

        using var proxied = new HttpRequestMessage(HttpMethod.Get, "/proxy/crm/contacts/1");
        proxied.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var refused = await httpB.SendAsync(proxied, ct);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("revoked", await refused.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);

        using var ready = await httpB.GetAsync("/readyz", ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("tessera_cluster_changes_applied_total{kind=\"revocation\"}", await httpB.GetStringAsync("/metrics", ct), StringComparison.Ordinal);
        Assert.Equal(0, await nodeB.TerminateAsync());
        Assert.Equal(0, await nodeA.TerminateAsync());
    }

    [Fact]
    public async Task Audit_query_shows_and_audit_verify_checks_the_events_of_every_node_naming_a_break_by_node()
    {
        var ct = TestContext.Current.CancellationToken;
        var connectionString = await cluster.CreateDatabaseAsync(ct);
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        var environment = new Dictionary<string, string> { ["TESSERA_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) };
        var (portA, portB) = (TesseraProcess.FreePort(), TesseraProcess.FreePort());
        await WriteConfigAsync(_a, portA, "node-a", database, ct);
        await WriteConfigAsync(_b, portB, "node-b", database, ct);
        await using (var nodeA = TesseraProcess.Start(_a, environment, "serve"))
        {
            using var httpA = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{portA}") };
            await nodeA.WaitUntilReadyAsync(httpA);
            await using var nodeB = TesseraProcess.Start(_b, environment, "serve");
            using var httpB = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{portB}") };
            await nodeB.WaitUntilReadyAsync(httpB);
            var basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"support-agent:{Secret}")));
            foreach (var http in new[] { httpA, httpB })
            {
                using var issued = await PostAsync(http, "/oauth/token", basic, ("grant_type", "client_credentials"), ("scope", "crm:read"));
                Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
            }

            // Asked through node A, the log shows the token node B issued too, naming its node.
            var (queryCode, queryOutput) = await TesseraProcess.RunAsync(_a, environment, "audit", "query", "--type", "token.issued", "--json");
            Assert.True(queryCode == 0, queryOutput);
            var nodes = queryOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("node").GetString()).Order(StringComparer.Ordinal);
            Assert.Equal(["node-a", "node-b"], nodes);

            // Through node B, a page at a time: the cursor is a token of every node's place.
            var adminToken = (await File.ReadAllTextAsync(Path.Combine(_b, "data", "admin.token"), ct)).Trim();
            var paged = new List<string>();
            for (var after = "0"; ;)
            {
                using var page = new HttpRequestMessage(HttpMethod.Get, $"/admin/v1/audit?type=token.issued&limit=1&after={Uri.EscapeDataString(after)}");
                page.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
                using var response = await httpB.SendAsync(page, ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
                paged.AddRange(json.RootElement.GetProperty("events").EnumerateArray().Select(e => $"{e.GetProperty("node").GetString()}:{e.GetProperty("seq").GetInt64()}"));
                if (!json.RootElement.TryGetProperty("next_after", out var next))
                {
                    break;
                }

                after = next.GetString()!;
            }

            Assert.Equal(2, paged.Distinct().Count());
            Assert.Equal(["node-a", "node-b"], paged.Select(p => p.Split(':')[0]).Order(StringComparer.Ordinal));
            Assert.Equal(0, await nodeB.TerminateAsync());
            Assert.Equal(0, await nodeA.TerminateAsync());
        }

        var (verifyCode, verifyOutput) = await TesseraProcess.RunAsync(_a, environment, "audit", "verify");
        Assert.True(verifyCode == 0, verifyOutput);
        Assert.Contains("node node-a: ", verifyOutput, StringComparison.Ordinal);
        Assert.Contains("node node-b: ", verifyOutput, StringComparison.Ordinal);
        Assert.Contains("audit chain intact: ", verifyOutput, StringComparison.Ordinal);

        long tampered;
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync(ct);
            await using var update = new NpgsqlCommand(
                "UPDATE audit_events SET agent = 'other-agent' WHERE node = 'node-b' AND type = 'token.issued' RETURNING seq", connection);
            tampered = (long)(await update.ExecuteScalarAsync(ct))!;
        }

        var (brokenCode, brokenOutput) = await TesseraProcess.RunAsync(_a, environment, "audit", "verify");
        Assert.Equal(1, brokenCode);
        Assert.Contains($"audit chain broken at node node-b seq {tampered}: column agent disagrees with the event", brokenOutput, StringComparison.Ordinal);
        Assert.Contains("node node-a: ", brokenOutput, StringComparison.Ordinal);
    }

    private Task WriteConfigAsync(string directory, int port, string nodeId, string database, CancellationToken ct) =>
        File.WriteAllTextAsync(Path.Combine(directory, "tessera.yaml"), $$"""
            server:
              listen: http://127.0.0.1:{{port}}
              issuer: https://tessera.example  # one installation: one issuer, whichever node signs
            storage: postgres://tessera@127.0.0.1:{{cluster.Port}}/{{database}}
            cluster: { node_id: {{nodeId}} }
            {{TesseraProcess.CrmAndSupportAgent}}
            """, ct);

    private static async Task<bool> IsActiveAsync(HttpClient http, AuthenticationHeaderValue auth, string token)
    {
        using var response = await PostAsync(http, "/oauth/introspect", auth, ("token", token));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("active").GetBoolean();
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, string path, AuthenticationHeaderValue auth, params (string, string)[] form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new FormUrlEncodedContent(form.Select(f => KeyValuePair.Create(f.Item1, f.Item2))),
        };
        request.Headers.Authorization = auth;
        return await http.SendAsync(request);
    }

    public void Dispose()
    {
        Directory.Delete(_a, recursive: true);
        Directory.Delete(_b, recursive: true);
    }
}
